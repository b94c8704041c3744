"""The register-map documentation is generated from the code and must not fall behind."""

from pathlib import Path

from emulator.docs import render


def test_docs_registers_md_matches_the_device_models():
    path = Path(__file__).resolve().parents[2] / "docs" / "registers.md"
    assert path.read_text() == render(), "run: python -m emulator.docs"


def test_every_datasheet_register_block_of_this_release_is_documented():
    text = render()
    for compatible in ("soclab,syscon", "arm,pl011", "soclab,timer", "arm,pl190-vic"):
        assert f"## `{compatible}`" in text
    assert "| 0x010 | EXIT |" in text
