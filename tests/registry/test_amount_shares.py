"""What "all of it", "half of it" and "the minimum" mean is declared per operation, and a
declaration naming a slot the form does not choose is refused at load with the slot meant."""

from __future__ import annotations

import pytest

from registry.catalogue import RegistryError, default_catalogue, load_catalogue
from tests.registry.conftest import edit, line_of


def test_the_repayment_reads_shares_of_the_bill_being_repaid():
    repay = default_catalogue().operations["credit_repay"]

    assert repay.amount_shares == {
        "of": "credit_bill",
        "all": "remaining",
        "minimum": "minimum_due",
    }


def test_shares_of_a_slot_the_form_does_not_choose_are_refused(project_copy):
    credit = project_copy / "capabilities" / "credit.yml"
    edit(credit, "      of: credit_bill\n", "      of: credit_bil\n")

    with pytest.raises(RegistryError) as refused:
        load_catalogue(project_copy / "capabilities")

    [problem] = [str(problem) for problem in refused.value.problems]
    assert f"credit.yml:{line_of(credit, 'of: credit_bil')}: " in problem
    assert "amount_shares.of must name one of its choice slots" in problem
    assert "Did you mean 'credit_bill'?" in problem
