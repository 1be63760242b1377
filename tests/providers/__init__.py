"""Tests of each provider adapter against its fake platform."""
