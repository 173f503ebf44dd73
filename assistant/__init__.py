"""政策问答: answers questions about local-government policy documents with the clauses that answer them.

The library: corpus → clauses (documents, parser, fields) → index (passages, encoders, store,
indexing) → search (questions, keywords, search) → answers (answer, llm) → shells (cli, web).
"""

__version__ = "0.1.0"
