"""Persistence: SQLAlchemy 2 async models and the functions that read and write them, one path
for SQLite and PostgreSQL (Core statements on a connection where every update needs them).

The caller owns the transaction (``async with engine.begin() as connection:``); functions
here never commit.
"""
