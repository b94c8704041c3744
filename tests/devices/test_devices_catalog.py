"""The catalog the board builder uses to bind devicetree nodes to models."""

from __future__ import annotations

from devices import MODELS

# datasheet §2: compatible strings of the blocks modelled so far
DATASHEET_COMPATIBLES = {"soclab,syscon", "arm,pl011", "soclab,timer", "arm,pl190-vic"}


def test_models_map_the_datasheet_compatibles() -> None:
    assert DATASHEET_COMPATIBLES <= MODELS.keys()


def test_each_model_claims_the_compatible_it_is_listed_under() -> None:
    for compatible, model in MODELS.items():
        assert compatible in model.compatible


def test_generic_primecell_compatible_binds_no_model() -> None:
    assert "arm,primecell" not in MODELS


def test_every_register_block_is_4_kib() -> None:
    assert {model.Regs.SIZE for model in MODELS.values()} == {0x1000}
