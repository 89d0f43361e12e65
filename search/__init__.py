"""The search engine: analysis, query planning, ranking, snippets and near-copies.

Pure where it can be; it reads the archive through `search.engine.SearchRows`, which each
storage backend answers.
"""
