"""Reads the domain as the project lays it out: domain.yml plus one part per product line.

domain.yml at the root holds what every product line shares (session settings, shared
slots and entities); domain/<line>.yml holds each line's own intents, slots, responses
and actions, beside that line's data and actions. Rasa reads only one domain path, so
this importer, named in config.yml, merges the two for `rasa train` and
`rasa data validate`.
"""

from __future__ import annotations

from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.importers.rasa import RasaFileImporter

PRODUCT_LINE_DOMAIN_DIR = Path("domain")


class ProductLineImporter(RasaFileImporter):
    def get_domain(self) -> Domain:
        shared = super().get_domain()
        if not self._domain_path or Path(self._domain_path).is_dir():
            return shared
        domain_dir = Path(self._domain_path).parent / PRODUCT_LINE_DOMAIN_DIR
        if not domain_dir.is_dir():
            return shared
        return shared.merge(Domain.from_directory(domain_dir))
