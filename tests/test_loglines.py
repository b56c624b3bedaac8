"""Log lines: finding the logger a line calls, and checking the model's suggestion for it.

The corpus in tests/fixtures/loglines/ is ordinary service, handler and CLI code using each
logger family. A site is made by replacing one line of a fixture with the text typed so far.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from localllm.loglines import LogSite, find_log_site, verb_count
from localllm.treesitter import language_for

CORPUS = Path(__file__).parent / "fixtures" / "loglines"
# A log call at the start of a line, up to its first `(`.
CALL = re.compile(
    r"^(\s*(?:defer\s+|await\s+)?)((?:[\w.]+?)\.(?:\w+)\(|(?:(?:log|tracing)::)?"
    r"(?:info|warn|error|debug|trace)!\()"
)


def site_at(name: str, anchor: str, typed: str) -> tuple[LogSite | None, str]:
    """The site when the line holding `anchor` in fixture `name` reads `typed` (after its
    indentation) with the cursor at its end; also the typed line with its indentation."""
    path = CORPUS / name
    lines = path.read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if anchor in line)
    indent = lines[row][: len(lines[row]) - len(lines[row].lstrip())]
    lines[row] = indent + typed
    text = "\n".join(lines)
    col = len(lines[row].encode())
    language = language_for("", str(path))
    return find_log_site(text, row, col, language), lines[row]


def corpus_calls() -> list[tuple[str, int, str, str]]:
    """(file, row, typed up to the call's `(`, rest of the line) for every log call line."""
    out = []
    for path in sorted(CORPUS.iterdir()):
        for row, line in enumerate(path.read_text().split("\n")):
            match = CALL.match(line)
            if match:
                out.append((path.name, row, line[: match.end()], line[match.end() :]))
    return out


# --------------------------------------------------------------------------------------------
# Detection

DETECTION = [
    ("zap_client.go", 'c.logger.Warn("request failed"', "c.logger.Info(", "zap", "c.logger"),
    ("zap_client.go", 'c.logger.Warn("request failed"', "c.logger.", "zap", "c.logger"),
    ("zap_client.go", 'c.logger.Warn("request failed"', "c.logger.Er", "zap", "c.logger"),
    ("zap_client.go", 'logger.Info("creating client"', "logger.Info(", "zap", "logger"),
    ("zap_client.go", 'sugar.Debugf("delete', "sugar.Infow(", "zap_sugar", "sugar"),
    (
        "zap_client.go",
        'sugar.Debugf("delete',
        "c.logger.Sugar().Infow(",
        "zap_sugar",
        "c.logger.Sugar()",
    ),
    ("slog_handler.go", 'slog.Info("user saved"', 'slog.Info("', "slog", "slog"),
    ("slog_handler.go", 'slog.Info("user saved"', "h.log.Info(", "slog_logger", "h.log"),
    ("slog_handler.go", 'logger.Info("handler ready")', "logger.Warn(", "slog_logger", "logger"),
    ("logrus_cli.go", 'log.Debugf("config', "log.WithField(", "logrus", "log"),
    ("logrus_cli.go", 'logger.Infof("walked', "logger.Infof(", "logrus", "logger"),
    ("logrus_cli.go", "entry.WithError(err)", "entry.WithError(err).Error(", "logrus", "entry"),
    ("zerolog_worker.go", 'log.Warn().Str("job"', "log.Info().", "zerolog", "log"),
    (
        "zerolog_worker.go",
        'w.logger.Info().Int("size"',
        "w.logger.Debug().Str(",
        "zerolog",
        "w.logger",
    ),
    ("stdlog_main.go", 'log.Printf("indexed', "log.Printf(", "go_log", "log"),
    ("stdlog_main.go", 'logger.Println("skipping"', "logger.Println(", "go_log", "logger"),
    ("stdlog_main.go", 'log.Printf("indexed', "defer log.Println(", "go_log", "log"),
    ("billing_service.py", 'self.log.error("giving up', "self.log.", "py_logging", "self.log"),
    ("billing_service.py", 'logger.info("refunded', "logger.info(", "py_logging", "logger"),
    ("billing_service.py", 'logging.warning("empty', "logging.error(", "py_logging", "logging"),
    ("sync_job.py", 'logger.debug("skip', "logger.info(", "loguru", "logger"),
    ("events_api.py", 'log.info("event_accepted"', "log.info(", "structlog", "log"),
    ("events_api.py", 'self.log.info("event_appended"', "self.log.debug(", "structlog", "self.log"),
    ("orders.js", "logger.info('serving", "logger.info(", "pino", "logger"),
    ("orders.js", "console.info('server starting')", "console.", "console", "console"),
    ("inventory.ts", "this.log.warn('low", "this.log.info(", "winston", "this.log"),
    ("inventory.ts", "logger.debug(`checked", "logger.warn(", "winston", "logger"),
    ("session.ts", "log.info('user %s logged out'", "log.info(", "pino", "log"),
    ("cache.rs", 'debug!("stored', "debug!(", "rust_log", "debug"),
    ("cache.rs", 'debug!("stored', "log::error!(", "rust_log", "log"),
    ("server.rs", "warn!(len", "warn!(", "tracing", "warn"),
    ("server.rs", "warn!(len", "tracing::info!(", "tracing", "tracing"),
]


@pytest.mark.parametrize(("name", "anchor", "typed", "family", "logger"), DETECTION)
def test_detects_the_logger_and_its_family(
    name: str, anchor: str, typed: str, family: str, logger: str
) -> None:
    site, _line = site_at(name, anchor, typed)
    assert site is not None
    assert (site.family, site.logger) == (family, logger)


NOT_LOG = [
    ("zap_client.go", 'c.logger.Warn("request failed"', "strings."),
    ("zap_client.go", 'c.logger.Warn("request failed"', "c.logger.Sync("),
    ("zap_client.go", 'c.logger.Warn("request failed"', "c.http.Do("),
    ("zap_client.go", 'c.logger.Warn("request failed"', "resp, err := c.http.Do("),
    ("zap_client.go", 'c.logger.Warn("request failed"', "c.logger"),  # no `.` yet
    ("stdlog_main.go", 'log.Printf("indexed', "log.Infof("),  # the standard log has no Infof
    ("billing_service.py", 'self.log.error("giving up', "self.gateway.charge("),
    ("billing_service.py", 'self.log.error("giving up', "logger.infoo("),
    ("orders.js", "logger.info('serving", "res.status("),
    ("orders.js", "logger.info('serving", "router.get("),
    ("server.rs", "warn!(len", "println!("),
    ("server.rs", "warn!(len", "other::info!("),
]


@pytest.mark.parametrize(("name", "anchor", "typed"), NOT_LOG)
def test_other_lines_are_not_log_sites(name: str, anchor: str, typed: str) -> None:
    site, _line = site_at(name, anchor, typed)
    assert site is None


def test_no_site_without_a_known_language() -> None:
    assert find_log_site("log.Printf(", 0, 11, None) is None
    assert find_log_site("log.Printf(", 0, 11, "lua") is None


def test_every_log_line_of_the_corpus_is_found_and_passes_unchanged() -> None:
    """The file's own log calls are right: detection finds each and check() keeps each whole;
    the other calls at line starts (`res.status(`, `log.SetLevel(`, `http.Error(`) are not
    log sites."""
    found = 0
    missed = []
    for name, row, typed, rest in corpus_calls():
        path = CORPUS / name
        text = path.read_text()
        site = find_log_site(text, row, len(typed.encode()), language_for("", str(path)))
        if site is None:
            missed.append(typed.strip())
            continue
        found += 1
        assert site.check(typed, rest, final=True) == rest, (name, row + 1)
        assert site.problems(typed, rest) == [], (name, row + 1)
    assert found == 78
    assert "log.SetLevel(" in missed and "http.Error(" in missed and "res.status(" in missed
    log_methods = re.compile(r"\.(?:info|warn|warning|error|debug|Info|Warn|Error|Debug)\(")
    assert not [call for call in missed if log_methods.search(call) and "http." not in call]


# --------------------------------------------------------------------------------------------
# Scope and prompt


def test_scope_has_params_locals_receiver_and_package_names_only_above_the_cursor() -> None:
    site, _line = site_at("zap_client.go", 'c.logger.Warn("request failed"', "c.logger.Info(")
    assert site is not None
    for name in ("c", "ctx", "id", "url", "start", "req", "err", "attempt", "resp", "New",
                 "Client", "zap", "time", "fmt", "http", "len", "nil"):  # fmt: skip
        assert name in site.identifiers, name
    assert "sugar" not in site.identifiers  # declared in another function
    site, _line = site_at(
        "zap_client.go", "req, err := http.NewRequestWithContext(ctx, http.Me", "c.logger.Info("
    )
    assert site is not None
    assert "url" in site.identifiers and "start" in site.identifiers
    assert "req" not in site.identifiers  # assigned on this very line / below


def test_python_scope_sees_loop_targets_except_aliases_and_self_fields() -> None:
    site, _line = site_at("billing_service.py", 'self.log.info("charged', "self.log.info(")
    assert site is not None
    for name in ("self", "customer_id", "amount", "invoice", "attempt", "receipt", "logger",
                 "Invoice", "PaymentError", "Decimal", "len"):  # fmt: skip
        assert name in site.identifiers, name
    assert "total" not in site.identifiers  # a local of another method
    assert "self.gateway" in site.prompt_chunk


def test_js_and_rust_scopes() -> None:
    site, _line = site_at("orders.js", "logger.info('serving", "logger.info(")
    assert site is not None
    assert {"orderId", "order", "req", "res", "loadOrder", "logger", "router"} <= site.identifiers
    assert "err" not in site.identifiers  # bound by the catch below
    site, _line = site_at("server.rs", "info!(user = %user", "info!(")
    assert site is not None
    assert {"user", "req", "body", "len", "self"} <= site.identifiers
    site, _line = site_at("inventory.ts", "this.log.warn('low", "this.log.info(")
    assert site is not None
    assert {"warehouse", "items", "low", "logger"} <= site.identifiers
    assert "before" not in site.identifiers


def test_prompt_chunk_has_declaration_examples_and_names_and_is_bounded() -> None:
    site, _line = site_at("zap_client.go", 'c.logger.Error("giving up"', "c.logger.Info(")
    assert site is not None
    chunk = site.prompt_chunk
    assert chunk.startswith("// logger: logger *zap.Logger")
    assert 'c.logger.Info("fetched document"' in chunk  # the nearest log calls as examples
    assert "// in scope:" in chunk and "id" in chunk.split("// in scope:")[1]
    assert len(chunk) <= 600
    site, _line = site_at("billing_service.py", 'logger.info("refunded', "logger.info(")
    assert site is not None
    assert site.prompt_chunk.startswith("# logger: logger = logging.getLogger(__name__)")
    assert 'logger.warning("nothing to refund for %s", invoice.customer_id)' in site.prompt_chunk


def test_semicolon_style_follows_the_file() -> None:
    js, _ = site_at("orders.js", "logger.info('serving", "logger.info(")
    go, _ = site_at("stdlog_main.go", 'log.Printf("indexed', "log.Printf(")
    rust, _ = site_at("cache.rs", 'debug!("stored', "debug!(")
    assert js is not None and go is not None and rust is not None
    assert js.semicolon and rust.semicolon and not go.semicolon


# --------------------------------------------------------------------------------------------
# check(): (fixture, anchor line, typed, suggestion, final, expected)

CHECKS = [
    # the call ends where it ends
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"loading %s", path)',
        True,
        '"loading %s", path)',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Println(",
        '"a", path) // done',
        True,
        '"a", path)',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"%d items", len(counts)))',
        True,
        '"%d items", len(counts))',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        'log.Printf("loading ',
        '%s", path)',
        True,
        '%s", path)',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.",
        'Printf("%s", path)',
        True,
        'Printf("%s", path)',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"done %s", path',
        True,
        '"done %s", path)',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"done %s", path); return',
        True,
        '"done %s", path)',
    ),
    # identifiers not in scope
    ("stdlog_main.go", 'log.Printf("indexed', "log.Printf(", '"x=%d", missing)', True, '"x=%d"'),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Println(",
        '"x", path, missing)',
        True,
        '"x", path)',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Println(",
        '"x", counts[path], total)',
        True,
        '"x", counts[path], total)',
    ),
    (
        "slog_handler.go",
        'slog.Info("user saved"',
        "h.log.Info(",
        '"saved", "id", usr.ID)',
        True,
        '"saved", "id"',
    ),
    (
        "zap_client.go",
        'c.logger.Warn("request failed"',
        "c.logger.Info(",
        '"done", zap.String("u", missing))',
        True,
        '"done")',
    ),
    (
        "zerolog_worker.go",
        'log.Warn().Str("job"',
        "log.Info().",
        'Str("job", jobs).Msg("x")',
        True,
        'Str("job"',
    ),
    (
        "billing_service.py",
        'logger.warning("nothing',
        "logger.info(",
        '"x %s", missing)',
        True,
        '"x %s"',
    ),
    (
        "billing_service.py",
        'logger.warning("nothing',
        "logger.info(",
        'f"user {reason} {nope}")',
        True,
        "",
    ),
    (
        "billing_service.py",
        'logger.warning("nothing',
        "self.log.info(",
        '"x %s", [i for i in reason])',
        True,
        '"x %s", [i for i in reason])',
    ),
    (
        "events_api.py",
        'log.info("event_accepted"',
        "log.info(",
        '"ok", stream=stream, v=versions)',
        True,
        '"ok", stream=stream)',
    ),
    ("orders.js", "logger.info('serving", "logger.info(", "{ orderId, id: ordr }, 'x');", True, ""),
    ("orders.js", "logger.info('serving", "console.log(", "`order ${orderId} ${nope}`);", True, ""),
    (
        "inventory.ts",
        "this.log.warn('low",
        "this.log.info(",
        "'x', { warehouse, high });",
        True,
        "'x');",
    ),
    (
        "inventory.ts",
        "this.log.warn('low",
        "this.log.info(",
        "'x', { warehouse, low });",
        True,
        "'x', { warehouse, low });",
    ),
    ("cache.rs", 'debug!("stored', "debug!(", '"stored {key} {missing}");', True, ""),
    ("server.rs", "warn!(len", "warn!(", '%len, user = ?nobody, "too large");', True, "%len);"),
    # printf verbs and arguments
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"x=%d %s", path)',
        True,
        '"x=%d %s", path',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"x=%s", path, total)',
        True,
        '"x=%s", path)',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"%d%% done", total)',
        True,
        '"%d%% done", total)',
    ),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"%-10s|%5.2f|%+v", path, 1.5, counts)',
        True,
        '"%-10s|%5.2f|%+v", path, 1.5, counts)',
    ),
    (
        "zerolog_worker.go",
        'log.Warn().Str("job"',
        "log.Info().",
        'Str("job", job.ID).Msgf("x %s %d", job.ID)',
        True,
        'Str("job", job.ID).Msgf("x %s %d", job.ID',
    ),
    (
        "logrus_cli.go",
        'logger.Infof("walked',
        "logger.Infof(",
        '"walked %s", cfg.Root, count)',
        True,
        '"walked %s", cfg.Root)',
    ),
    (
        "zap_client.go",
        'sugar.Debugf("delete',
        "sugar.Debugf(",
        '"delete %s: %v", id)',
        True,
        '"delete %s: %v", id',
    ),
    (
        "billing_service.py",
        'logger.warning("nothing',
        "logger.info(",
        '"x %s %s", total)',
        True,
        '"x %s %s", total',
    ),
    (
        "billing_service.py",
        'logger.warning("nothing',
        "logger.info(",
        '"x %s", total, reason)',
        True,
        '"x %s", total)',
    ),
    (
        "sync_job.py",
        'logger.debug("skip',
        "logger.info(",
        '"found {} keys {}", len(keys))',
        True,
        '"found {} keys {}", len(keys)',
    ),
    (
        "sync_job.py",
        'logger.debug("skip',
        "logger.info(",
        '"copy {name}", name=key)',
        True,
        '"copy {name}", name=key)',
    ),
    (
        "orders.js",
        "logger.info('serving",
        "console.log(",
        "'a %s %s', orderId);",
        True,
        "'a %s %s', orderId",
    ),
    (
        "orders.js",
        "logger.info('serving",
        "console.log(",
        "'a %s', orderId, req.path);",
        True,
        "'a %s', orderId, req.path);",
    ),
    (
        "orders.js",
        "logger.info('serving",
        "logger.info(",
        "'x %s', orderId, req);",
        True,
        "'x %s', orderId);",
    ),
    ("cache.rs", 'debug!("stored', "debug!(", '"stored {} {}", key);', True, '"stored {} {}", key'),
    (
        "cache.rs",
        'debug!("stored',
        "debug!(",
        '"stored {:?} {}", key, size);',
        True,
        '"stored {:?} {}", key, size);',
    ),
    ("server.rs", "warn!(len", "warn!(", 'len, "too large {}");', True, "len);"),
    # slog pairs, zap fields, logging keywords, zerolog arity
    (
        "slog_handler.go",
        'slog.Info("user saved"',
        "slog.Info(",
        '"saved", "id", user.ID, "email")',
        True,
        '"saved", "id", user.ID)',
    ),
    (
        "slog_handler.go",
        'slog.Info("user saved"',
        "slog.Info(",
        '"saved", "id", user.ID, slog.String("email", user.Email))',
        True,
        '"saved", "id", user.ID, slog.String("email", user.Email))',
    ),
    (
        "slog_handler.go",
        'slog.Info("user saved"',
        "slog.Info(",
        '"saved", 42, user.ID)',
        True,
        '"saved")',
    ),
    (
        "zap_client.go",
        'c.logger.Warn("request failed"',
        "c.logger.Info(",
        '"done", url)',
        True,
        '"done")',
    ),
    (
        "zap_client.go",
        'c.logger.Warn("request failed"',
        "c.logger.Info(",
        '"done", zap.Error(err), "id", id)',
        True,
        '"done", zap.Error(err))',
    ),
    (
        "zap_client.go",
        'sugar.Debugf("delete',
        "sugar.Infow(",
        '"deleted", "id", id, "force")',
        True,
        '"deleted", "id", id)',
    ),
    ("billing_service.py", 'logger.warning("nothing', "logger.info(", '"x", foo=1)', True, '"x")'),
    (
        "billing_service.py",
        'logger.warning("nothing',
        "logger.info(",
        '"x", exc_info=True)',
        True,
        '"x", exc_info=True)',
    ),
    (
        "zerolog_worker.go",
        'log.Warn().Str("job"',
        "log.Info().",
        'Str("job").Msg("x")',
        True,
        'Str("job"',
    ),
    (
        "zerolog_worker.go",
        'log.Warn().Str("job"',
        "log.Info().",
        'Strr("job", job.ID).Msg("x")',
        True,
        "",
    ),
    (
        "logrus_cli.go",
        'log.Debugf("config',
        "log.WithField(",
        '"path", path, 3).Info("x")',
        True,
        '"path", path',
    ),
    (
        "logrus_cli.go",
        'log.Debugf("config',
        "log.WithField(",
        '"path", path).Infof("%s", nope)',
        True,
        '"path", path).Infof("%s"',
    ),
    # balanced quotes and brackets when finished
    ("stdlog_main.go", 'log.Printf("indexed', "log.Printf(", '"loading %s', True, ""),
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Println(",
        '"x", path, "unterminated',
        True,
        '"x", path)',
    ),
    (
        "orders.js",
        "logger.info('serving",
        "logger.info(",
        "'x %s', orderId)",
        True,
        "'x %s', orderId);",
    ),
    ("cache.rs", 'debug!("stored', "debug!(", '"stored {}", key)', True, '"stored {}", key);'),
    # streaming: an unfinished tail is kept
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"loading %s", pa',
        False,
        '"loading %s", pa',
    ),
    ("stdlog_main.go", 'log.Printf("indexed', "log.Printf(", '"loading %s', False, '"loading %s'),
    (
        "slog_handler.go",
        'slog.Info("user saved"',
        "slog.Info(",
        '"saved", "id", user.ID, "email", ',
        False,
        '"saved", "id", user.ID, "email", ',
    ),
    (
        "zap_client.go",
        'c.logger.Warn("request failed"',
        "c.logger.Info(",
        '"done", zap.Str',
        False,
        '"done", zap.Str',
    ),
    (
        "zap_client.go",
        'c.logger.Warn("request failed"',
        "c.logger.Info(",
        '"done", za',
        False,
        '"done", za',
    ),
    ("zerolog_worker.go", 'log.Warn().Str("job"', "log.Info().", "St", False, "St"),
    (
        "billing_service.py",
        'logger.warning("nothing',
        "logger.info(",
        '"x %s", exc_in',
        False,
        '"x %s", exc_in',
    ),
    (
        "billing_service.py",
        'logger.warning("nothing',
        "logger.info(",
        'f"user {reas',
        False,
        'f"user {reas',
    ),
    # streaming: what can no longer become right is cut at once
    (
        "stdlog_main.go",
        'log.Printf("indexed',
        "log.Printf(",
        '"x=%s", path, ',
        False,
        '"x=%s", path)',
    ),
    ("stdlog_main.go", 'log.Printf("indexed', "log.Printf(", '"x=%s", nope, ', False, '"x=%s"'),
    (
        "zap_client.go",
        'c.logger.Warn("request failed"',
        "c.logger.Info(",
        '"done", url, ',
        False,
        '"done")',
    ),
]


@pytest.mark.parametrize(("name", "anchor", "typed", "suggestion", "final", "expected"), CHECKS)
def test_check_cuts_back_to_the_right_prefix(
    name: str, anchor: str, typed: str, suggestion: str, final: bool, expected: str
) -> None:
    site, line = site_at(name, anchor, typed)
    assert site is not None
    assert site.check(line, suggestion, final=final) == expected


def test_check_keeps_a_single_line_and_never_returns_more_than_was_suggested() -> None:
    site, line = site_at("stdlog_main.go", 'log.Printf("indexed', "log.Printf(")
    assert site is not None
    assert site.check(line, '"a %s", path)\n\tlog.Println("b")', final=True) == '"a %s", path)'
    for cut in range(len('"a %s", path)')):
        partial = '"a %s", path)'[:cut]
        shown = site.check(line, partial, final=False)
        assert partial.startswith(shown)  # streaming never invents text


def test_problems_names_what_is_wrong() -> None:
    site, line = site_at("slog_handler.go", 'slog.Info("user saved"', "slog.Info(")
    assert site is not None
    assert site.problems(line, '"saved", "id")') == ["pairs"]
    assert site.problems(line, '"saved", "id", nope)') == ["unknown:nope"]
    assert site.problems(line, '"saved", "id", user.ID)') == []
    go, go_line = site_at("stdlog_main.go", 'log.Printf("indexed', "log.Printf(")
    assert go is not None
    assert go.problems(go_line, '"%s %d", path)') == ["verbs"]
    assert "unbalanced" in go.problems(go_line, '"%s", path')


@pytest.mark.parametrize(
    ("fmt", "style", "count"),
    [
        ("loading %s from %v", "go", 2),
        ("100%% of %d", "go", 1),
        ("%-8s|%08.3f|%+v|%#x|%q|%w", "go", 6),
        ("%*d", "go", 2),
        ("%[1]s %[1]s", "go", None),
        ("%s and %(name)s", "python", None),
        ("%s is %d%%", "python", 2),
        ("{} and {} but {{}}", "brace", 2),
        ("{name} and {}", "brace", 1),
        ("{0} {1}", "brace", None),
        ("{:?} {} {x}", "rust", 2),
        ("%s %o %d %%", "js", 3),
    ],
)
def test_verb_count(fmt: str, style: str, count: int | None) -> None:
    assert verb_count(fmt, style) == count


# --------------------------------------------------------------------------------------------
# printf calls inside a log call's arguments (fmt.Errorf, fmt.Sprintf...)


def stdlog_with_fmt(typed: str) -> tuple[LogSite, str]:
    """A site in stdlog_main.go (which then also imports fmt), in the loop where path, counts,
    err and total are in scope, the line reading `typed`."""
    path = CORPUS / "stdlog_main.go"
    text = path.read_text().replace('\t"bufio"\n', '\t"bufio"\n\t"fmt"\n')
    lines = text.split("\n")
    row = next(i for i, line in enumerate(lines) if 'log.Printf("indexed' in line)
    lines[row] = "\t\t" + typed
    site = find_log_site("\n".join(lines), row, len(lines[row].encode()), "go")
    assert site is not None
    return site, lines[row]


NESTED_PRINTF_CUTS = [
    # a verb without its argument, and a stray `%d` (valid Go: `%` is modulo) after the call
    ("log.Fatal(", 'fmt.Errorf("bad count: %d") %d)', ""),
    ("log.", 'Fatal(fmt.Errorf("bad count: %d") %d)', "Fatal()"),
    ("log.Fatal(", 'fmt.Errorf("bad count: %d", total) %d)', 'fmt.Errorf("bad count: %d", total))'),
    ("log.Fatal(", 'fmt.Errorf("bad count: %d", total) %v)', 'fmt.Errorf("bad count: %d", total))'),
    ("log.Println(", "len(counts) %d, path)", "len(counts))"),
    # too many arguments: cut before the first one no verb takes; too few: before the `)`
    ("log.Fatal(", 'fmt.Errorf("read %s", path, err))', 'fmt.Errorf("read %s", path))'),
    ("log.Println(", 'fmt.Sprintf("%s: %d", path), total)', 'fmt.Sprintf("%s: %d", path'),
    ("log.Printf(", '"%s", fmt.Sprintf("%d %d", total))', '"%s", fmt.Sprintf("%d %d", total'),
]


@pytest.mark.parametrize(("typed", "suggestion", "expected"), NESTED_PRINTF_CUTS)
def test_a_printf_call_inside_a_log_call_is_cut_before_what_is_wrong(
    typed: str, suggestion: str, expected: str
) -> None:
    site, line = stdlog_with_fmt(typed)
    assert site.check(line, suggestion, final=True) == expected
    assert site.problems(line, suggestion) != []


NESTED_PRINTF_RIGHT = [
    ("log.Fatal(", 'fmt.Errorf("read %s: %w", path, err))'),
    ("log.Println(", 'fmt.Sprintf("%d%% of %s", total, path))'),
    ("log.Println(", 'fmt.Sprintf("100%%"))'),
    ("log.Println(", 'fmt.Sprintf("%[1]d files, %[1]d again", total))'),
    ("log.Println(", 'fmt.Sprintf("%*d|%-*s|", 8, total, 4, path))'),
    ("log.Println(", 'fmt.Sprintf("%.*f", 2, 3.14159))'),
    ("log.Println(", 'fmt.Sprint(path, "%d"), total)'),
    ("log.Printf(", '"%s: %v", path, fmt.Errorf("wrapped: %w", err))'),
    ("log.Println(", "total % 3, len(counts)%total, (total + 1) % 2)"),
    ("log.Println(", 'len(counts) % 2, fmt.Sprintf("%d", total%7))'),
    ("log.Print(", 'fmt.Fprintf(os.Stderr, "%s %d\\n", path, total))'),
    ("log.Fatalf(", '"%s: %d", path, len(fmt.Sprintf("%v", counts)))'),
]


@pytest.mark.parametrize(("typed", "suggestion"), NESTED_PRINTF_RIGHT)
def test_right_printf_calls_and_modulo_inside_a_log_call_stay_whole(
    typed: str, suggestion: str
) -> None:
    site, line = stdlog_with_fmt(typed)
    assert site.check(line, suggestion, final=True) == suggestion
    assert site.problems(line, suggestion) == []


# --------------------------------------------------------------------------------------------
# Go loggers whose library is not on disk, and what a Go format must be

GO_UNSEEN = """package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/containerd/log"
	"github.com/example/app/internal/dcontext"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
)

type Logger interface {
	Errorf(format string, args ...any)
}

type Options struct {
	Logger
	Dir string
}

type DB struct {
	opt    Options
	logger hclog.Logger
	lg     Logger
}

func (db *DB) Logger() Logger { return db.lg }

func (db *DB) Open(ctx context.Context, path string) error {
	lg := db.Logger()
	err := fmt.Errorf("open %s", path)
	CURSOR
	return err
}

func TestOpen(t *testing.T) {
	path := "x"
	TCURSOR
}
"""


def unseen_site(typed: str, *, in_test: bool = False) -> tuple[LogSite | None, str]:
    anchor = "TCURSOR" if in_test else "CURSOR"
    lines = GO_UNSEEN.replace("\tTCURSOR" if not in_test else "\tCURSOR", "\t").split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip() == anchor)
    lines[row] = "\t" + typed
    site = find_log_site("\n".join(lines), row, len(lines[row].encode()), "go")
    return site, lines[row]


GO_UNSEEN_LOGGERS = [
    ("lg.Errorf(", "go_logger", "lg"),  # a logger the project's own method gives
    ("db.logger.Error(", "hclog", "db.logger"),
    ("lg.Infof(", "go_logger", "lg"),
    ("db.opt.Errorf(", "go_logger", "db.opt"),  # a field whose type embeds one
    ("log.G(ctx).WithError(err).Errorf(", "go_logger", "log.G(ctx).WithError(err)"),
    ("log.L.Infof(", "go_logger", "log.L"),
    ("dcontext.GetLogger(ctx).Errorf(", "go_logger", "dcontext.GetLogger(ctx)"),
    ("klog.V(2).InfoS(", "go_logger", "klog.V(2)"),
    ("klog.Warningf(", "go_logger", "klog"),
    ("return fmt.Errorf(", "go_fmt", "fmt"),
]


@pytest.mark.parametrize(("typed", "family", "logger"), GO_UNSEEN_LOGGERS)
def test_go_loggers_whose_library_is_not_on_disk_are_found(
    typed: str, family: str, logger: str
) -> None:
    site, _line = unseen_site(typed)
    assert site is not None, typed
    assert (site.family, site.logger) == (family, logger)


def test_a_logger_declared_elsewhere_is_of_the_one_library_the_file_imports() -> None:
    # `r.logger` of a struct in another file: the file imports hclog (and no other library
    # with one logger type), so it is hclog's, as long as the method is hclog's.
    text = GO_UNSEEN.replace('\t"github.com/containerd/log"\n', "")
    lines = text.replace("\tTCURSOR", "\t").split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip() == "CURSOR")
    for typed, family in (("r.logger.Warn(", "hclog"), ("r.logger.Warnf(", "go_logger")):
        lines[row] = "\t" + typed
        site = find_log_site("\n".join(lines), row, len(lines[row].encode()), "go")
        assert site is not None and site.family == family, typed


def test_testing_receivers_are_printf_callees_and_other_packages_are_not_loggers() -> None:
    site, _line = unseen_site("t.Fatalf(", in_test=True)
    assert site is not None and site.family == "go_testing"
    # grpc's status.Errorf takes a code first: a package's Errorf is no logger's.
    assert unseen_site("status.Errorf(")[0] is None
    assert unseen_site("db.opt.Dir.Trim(")[0] is None


GO_FORMAT_CUTS = [
    # a printf method's format is a string literal (go vet rejects the rest)
    ("lg.Errorf(", "err)", ""),
    ("lg.Errorf(", "err.Error())", ""),
    ("lg.Errorf(", 'fmt.Sprintf("open %s", path))', ""),
    ("db.opt.Errorf(", "db.opt.Dir)", ""),
    ("t.Fatalf(", "path)", ""),
    # %w formats an error only in fmt.Errorf and errors wrappers
    ("lg.Errorf(", '"open %s: %w", path, err)', '"open %s:'),
    ("log.G(ctx).Errorf(", '"open: %w", err)', '"open:'),
]


@pytest.mark.parametrize(("typed", "suggestion", "expected"), GO_FORMAT_CUTS)
def test_a_go_format_is_a_string_literal_and_w_is_for_errorf(
    typed: str, suggestion: str, expected: str
) -> None:
    site, line = unseen_site(typed, in_test=typed.startswith("t."))
    assert site is not None
    assert site.check(line, suggestion, final=True) == expected
    assert set(site.problems(line, suggestion)) & {"format", "wrap"}


GO_FORMAT_RIGHT = [
    ("lg.Errorf(", '"open %s: %v", path, err)'),
    ("return fmt.Errorf(", '"open %s: %w", path, err)'),
    ("log.G(ctx).WithError(err).Errorf(", '"open %s", path)'),
    ("klog.V(2).InfoS(", '"opened", "path", path)'),
    ("db.logger.Error(", '"open failed", "path", path, "error", err)'),
    ("lg.Errorf(", "`open %s`, path)"),
]


@pytest.mark.parametrize(("typed", "suggestion"), GO_FORMAT_RIGHT)
def test_right_go_log_lines_stay_whole(typed: str, suggestion: str) -> None:
    site, line = unseen_site(typed)
    assert site is not None
    assert site.check(line, suggestion, final=True) == suggestion
    assert site.problems(line, suggestion) == []


GO_OPENINGS = [
    ("lg.Errorf(", '"'),
    ("return fmt.Errorf(", '"'),
    ("db.logger.Error(", '"'),  # hclog: a message, then pairs
    ("log.G(ctx).Error(", ""),  # a library we cannot see: its message may be anything
    ("lg.Errorf(`", ""),  # the format is started
    ('lg.Errorf("open %s", ', ""),  # past the format
    ("lg.Errorf(path", ""),
]


@pytest.mark.parametrize(("typed", "opening"), GO_OPENINGS)
def test_the_suggestion_opens_the_format_where_it_goes(typed: str, opening: str) -> None:
    site, line = unseen_site(typed)
    assert site is not None
    assert site.opening(line) == opening


@pytest.mark.parametrize(
    ("name", "anchor", "typed", "opening"),
    [
        ("slog_handler.go", 'slog.Info("user saved"', "slog.InfoContext(ctx, ", '"'),
        ("zap_client.go", 'c.logger.Warn("request failed"', "c.logger.Info(", '"'),
        ("zerolog_worker.go", 'log.Warn().Str("job"', "log.Info().Msg(", '"'),
        ("stdlog_main.go", 'log.Printf("indexed', "log.Println(", ""),  # any argument
        ("billing_service.py", 'logger.info("refunded', "logger.info(", ""),  # f-strings
    ],
)
def test_messages_of_go_libraries_are_opened_too(
    name: str, anchor: str, typed: str, opening: str
) -> None:
    site, line = site_at(name, anchor, typed)
    assert site is not None
    assert site.opening(line) == opening


def test_a_finished_call_is_no_log_site() -> None:
    # After `log.Println("x");` the line goes on with something else: the rule keeps out.
    assert unseen_site('fmt.Println("x");')[0] is None
    assert unseen_site('lg.Errorf("x %s", path)')[0] is None
    assert unseen_site('lg.Errorf("x %s", path')[0] is not None
