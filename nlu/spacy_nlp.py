"""SpacyNLP for the project's own spaCy pipeline.

It is Rasa's SpacyNLP with three additions: importing this module registers the pipeline's
custom spaCy component; a missing or outdated build is rebuilt before loading, so a
trained Rasa model runs on any machine that has the project's code; and the model's
fingerprint covers the patterns, so Rasa's training cache notices when they change.
"""

from __future__ import annotations

from pathlib import Path

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.utils import spacy_utils
from rasa.nlu.utils.spacy_utils import SpacyModel

from nlu.spacy_pipeline import DEFAULT_PIPELINE_DIR, ensure_pipeline, pipeline_fingerprint


# Rasa wires spaCy consumers (SpacyTokenizer, SpacyEntityExtractor) to their model provider by
# class name, so this subclass keeps the name SpacyNLP.
@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(spacy_utils.SpacyNLP):
    """Loads the project's rule-based English pipeline (see nlu/spacy_pipeline.py)."""

    @staticmethod
    def load_model(spacy_model_name: str) -> SpacyModel:
        path = Path(spacy_model_name or DEFAULT_PIPELINE_DIR)
        ensure_pipeline(path)
        loaded = spacy_utils.SpacyNLP.load_model(str(path))
        return SpacyModel(model=loaded.model, model_name=f"{path}@{pipeline_fingerprint()}")
