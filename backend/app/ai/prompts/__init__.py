"""Prompt builders: every prompt the AI layer sends lives here, one module per chain."""
