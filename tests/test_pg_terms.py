"""tsvector and tsquery literals of analysed terms, for PostgreSQL's GIN index."""

from __future__ import annotations

import pytest

from storage.pg.terms import passage_terms, phrase_query, quote, term_query


@pytest.mark.parametrize(
    ("term", "literal"),
    [
        ("مدارس", "'مدارس'"),
        ("it's", "'it''s'"),
        ("a\\b", "'a\\\\b'"),
        ("a:b", "'a:b'"),
    ],
)
def test_quote(term: str, literal: str) -> None:
    assert quote(term) == literal


@pytest.mark.parametrize(
    ("surface", "stem", "literal"),
    [
        ([], [], ""),
        (["المدارس", "حلب"], ["مدارس", "حلب"], "'المدارس':1A 'حلب':3A,4B 'مدارس':2B"),
        (["في", "في"], ["في", "في"], "'في':1A,3A,2B,4B"),
        (["x" * 2048, "y"], ["x" * 2048, "y"], "'y':3A,4B"),
    ],
)
def test_passage_terms(surface: list[str], stem: list[str], literal: str) -> None:
    assert passage_terms(surface, stem) == literal


@pytest.mark.parametrize(
    ("terms", "column", "literal"),
    [
        (["مدارس"], "stem", "'مدارس':B"),
        (["اسعار", "الخبز"], "surface", "'اسعار':A <2> 'الخبز':A"),
    ],
)
def test_queries(terms: list[str], column: str, literal: str) -> None:
    query = term_query(terms[0], column) if len(terms) == 1 else phrase_query(terms, column)
    assert query == literal
