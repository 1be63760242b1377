"""Persistence: SQLAlchemy 2 async models and the functions that read and write them.

The caller owns the transaction (``async with session.begin():``); functions here never commit.
"""
