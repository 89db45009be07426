"""Test doubles that ship with asyncfc: local model servers speaking real provider protocols."""
