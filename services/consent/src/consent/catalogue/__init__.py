"""Purposes and policy versions."""
