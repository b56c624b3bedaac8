"""What each logger family accepts: a rule per method, a table per family (`FAMILIES`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Argument rules, by kind:
#   any      anything
#   fixed    exactly `n` arguments
#   printf   `lead` leading arguments, a format string, then one argument per verb
#   pairs    `lead` arguments, a message (when `msg`), then key/value pairs or slog.Attr values
#   attrs    `lead` arguments, a message, then slog.Attr values only
#   fields   `lead` arguments, a message, then zap.Field constructors (zap.String(...), ...)
#   pct      Python logging: `lead`, message, %-format arguments, keyword arguments in `kwargs`
#   brace    loguru: message with `{}` placeholders, arguments, any keyword arguments
#   event    structlog: event, %-format arguments, any keyword arguments
#   console  JS console: a format string and at least one argument per verb
#   pino     pino: an optional merging object, a message, one argument per verb
#   winston  winston: a message, then at least one argument per verb (the rest is metadata)
#   rustfmt  log crate macros: `target: "..",`, a format string and its arguments
#   tracing  tracing macros: fields (`k = v`, `%x`, `?x`), then an optional format string
# `then` is the family whose methods may follow in a chain (None: the call ends here).


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    lead: int = 0
    n: int = 0
    msg: bool = True
    then: str | None = None
    kwargs: frozenset[str] | None = None  # allowed keyword arguments; None: any
    wraps: bool = False  # Go printf: the format may have `%w` (fmt.Errorf, errors wrappers)


def _rules(names: Iterable[str], rule: Rule) -> dict[str, Rule]:
    return dict.fromkeys(names, rule)


_LEVELS_GO = ("Debug", "Info", "Warn", "Error")
_ANY = Rule("any")
_PRINTF = Rule("printf")

_GO_LOG = {
    **_rules(("Print", "Println", "Fatal", "Fatalln", "Panic", "Panicln"), _ANY),
    **_rules(("Printf", "Fatalf", "Panicf"), _PRINTF),
    "Output": Rule("fixed", n=2),
}
_SLOG_FUNCS = {
    **_rules(_LEVELS_GO, Rule("pairs")),
    **_rules((f"{level}Context" for level in _LEVELS_GO), Rule("pairs", lead=1)),
    "Log": Rule("pairs", lead=2),
    "LogAttrs": Rule("attrs", lead=2),
    "With": Rule("pairs", msg=False, then="slog_logger"),
    "WithGroup": Rule("fixed", n=1, then="slog_logger"),
}
_ZAP = {
    **_rules((*_LEVELS_GO, "DPanic", "Panic", "Fatal"), Rule("fields")),
    "Log": Rule("fields", lead=1),
    "With": Rule("fields", msg=False, then="zap"),
    "Named": Rule("fixed", n=1, then="zap"),
    "Sugar": Rule("fixed", n=0, then="zap_sugar"),
}
_ZAP_LEVELS = (*_LEVELS_GO, "DPanic", "Panic", "Fatal")
_ZAP_SUGAR = {
    **_rules(_ZAP_LEVELS, _ANY),
    **_rules((f"{level}ln" for level in _ZAP_LEVELS), _ANY),
    **_rules((f"{level}f" for level in _ZAP_LEVELS), _PRINTF),
    **_rules((f"{level}w" for level in _ZAP_LEVELS), Rule("pairs")),
    "With": Rule("pairs", msg=False, then="zap_sugar"),
    "Named": Rule("fixed", n=1, then="zap_sugar"),
    "Desugar": Rule("fixed", n=0, then="zap"),
}
_LOGRUS_LEVELS = ("Trace", "Debug", "Info", "Print", "Warn", "Warning", "Error", "Fatal", "Panic")
_LOGRUS = {
    **_rules(_LOGRUS_LEVELS, _ANY),
    **_rules((f"{level}ln" for level in _LOGRUS_LEVELS), _ANY),
    **_rules((f"{level}f" for level in _LOGRUS_LEVELS), _PRINTF),
    "Log": Rule("any"),
    "Logf": Rule("printf", lead=1),
    "WithField": Rule("fixed", n=2, then="logrus"),
    "WithFields": Rule("fixed", n=1, then="logrus"),
    "WithError": Rule("fixed", n=1, then="logrus"),
    "WithContext": Rule("fixed", n=1, then="logrus"),
    "WithTime": Rule("fixed", n=1, then="logrus"),
}
_ZEROLOG = {
    **_rules(
        ("Trace", "Debug", "Info", "Warn", "Error", "Fatal", "Panic", "Log"),
        Rule("fixed", n=0, then="zerolog_event"),
    ),
    "Err": Rule("fixed", n=1, then="zerolog_event"),
    "WithLevel": Rule("fixed", n=1, then="zerolog_event"),
    "Print": _ANY,
    "Printf": _PRINTF,
}
_ZEROLOG_TWO = (
    "Str", "Strs", "Int", "Ints", "Int8", "Int16", "Int32", "Int64", "Uint", "Uint8", "Uint16",
    "Uint32", "Uint64", "Float32", "Float64", "Floats64", "Bool", "Bools", "Dur", "Durs", "Time",
    "Times", "Interface", "Any", "Stringer", "Bytes", "Hex", "RawJSON", "IPAddr", "IPPrefix",
    "MACAddr", "AnErr", "Errs", "Object", "Array", "Dict", "Stringers", "EmbedObject",
)  # fmt: skip
_ZEROLOG_EVENT = {
    **_rules(_ZEROLOG_TWO, Rule("fixed", n=2, then="zerolog_event")),
    "EmbedObject": Rule("fixed", n=1, then="zerolog_event"),
    "Err": Rule("fixed", n=1, then="zerolog_event"),
    "Fields": Rule("fixed", n=1, then="zerolog_event"),
    "Ctx": Rule("fixed", n=1, then="zerolog_event"),
    "Timestamp": Rule("fixed", n=0, then="zerolog_event"),
    "Stack": Rule("fixed", n=0, then="zerolog_event"),
    "Caller": Rule("any", then="zerolog_event"),
    "TimeDiff": Rule("fixed", n=3, then="zerolog_event"),
    "Msg": Rule("fixed", n=1),
    "Msgf": _PRINTF,
    "MsgFunc": Rule("fixed", n=1),
    "Send": Rule("fixed", n=0),
}
_PY_LOGGING_KWARGS = frozenset({"exc_info", "stack_info", "stacklevel", "extra"})
_PY_LEVELS = ("debug", "info", "warning", "warn", "error", "exception", "critical", "fatal")
_PY_LOGGING = {
    **_rules(_PY_LEVELS, Rule("pct", kwargs=_PY_LOGGING_KWARGS)),
    "log": Rule("pct", lead=1, kwargs=_PY_LOGGING_KWARGS),
}
_LOGURU_LEVELS = ("trace", "debug", "info", "success", "warning", "error", "critical", "exception")
_LOGURU = {
    **_rules(_LOGURU_LEVELS, Rule("brace")),
    "log": Rule("brace", lead=1),
    "bind": Rule("any", then="loguru"),
    "opt": Rule("any", then="loguru"),
    "contextualize": Rule("any"),
}
_STRUCTLOG_LEVELS = ("debug", "info", "warning", "warn", "error", "critical", "exception", "msg")
_STRUCTLOG = {
    **_rules(_STRUCTLOG_LEVELS, Rule("event")),
    **_rules((f"a{level}" for level in _STRUCTLOG_LEVELS), Rule("event")),
    "log": Rule("event", lead=1),
    "bind": Rule("any", then="structlog"),
    "new": Rule("any", then="structlog"),
    "unbind": Rule("any", then="structlog"),
}
_CONSOLE = {
    **_rules(("log", "info", "warn", "error", "debug", "trace"), Rule("console")),
    **_rules(("table", "dir", "dirxml", "group", "groupCollapsed", "groupEnd"), _ANY),
    **_rules(("time", "timeEnd", "timeLog", "count", "countReset"), _ANY),
    "assert": Rule("console", lead=1),
}
_PINO = {
    **_rules(("trace", "debug", "info", "warn", "error", "fatal", "silent"), Rule("pino")),
    "child": Rule("any", then="pino"),
}
_WINSTON = {
    **_rules(("error", "warn", "info", "http", "verbose", "debug", "silly"), Rule("winston")),
    "log": Rule("winston", lead=1),
    "child": Rule("any", then="winston"),
}
_JS_LOGGER = {  # a logger whose library we cannot see: console's rules, leniently
    **_rules(("trace", "debug", "info", "warn", "error", "fatal", "log"), Rule("console")),
    "child": Rule("any", then="js_logger"),
}
RUST_MACROS = ("error", "warn", "info", "debug", "trace")
_RUST_LOG = {**_rules(RUST_MACROS, Rule("rustfmt")), "log": Rule("rustfmt", lead=1)}
_TRACING = {**_rules(RUST_MACROS, Rule("tracing")), "event": Rule("tracing", lead=1)}

# A Go logger whose library we cannot see (an interface of the project's own, a wrapper
# package, klog, containerd's log.G(ctx)): by Go's naming convention a level method ending in
# `f` takes a format; `...w` (zap's sugar) takes pairs; `With...` chains go on.
_GO_LOGGER_LEVELS = (
    "Trace", "Debug", "Info", "Notice", "Warn", "Warning", "Error", "Critical", "Fatal",
    "Panic", "Print",
)  # fmt: skip
_GO_LOGGER = {
    **_rules(_GO_LOGGER_LEVELS, _ANY),
    **_rules((f"{level}ln" for level in _GO_LOGGER_LEVELS), _ANY),
    **_rules((f"{level}S" for level in _GO_LOGGER_LEVELS), _ANY),
    **_rules((f"{level}f" for level in _GO_LOGGER_LEVELS), _PRINTF),
    **_rules((f"{level}w" for level in _GO_LOGGER_LEVELS), Rule("pairs")),
    **_rules(("Log", "Logf"), _ANY),  # Logf(level, format, ...) in logrus, (format, ...) elsewhere
    **_rules(("With", "WithValues", "WithGroup", "Named", "V"), Rule("any", then="go_logger")),
    **_rules(("WithError", "WithContext", "WithFields"), Rule("fixed", n=1, then="go_logger")),
    "WithField": Rule("fixed", n=2, then="go_logger"),
}
_HCLOG_LEVELS = ("Trace", "Debug", "Info", "Warn", "Error")
_HCLOG = {  # hashicorp/go-hclog: a message, then key/value pairs
    **_rules(_HCLOG_LEVELS, Rule("pairs")),
    "Log": Rule("pairs", lead=1),
    "With": Rule("pairs", msg=False, then="hclog"),
    **_rules(("Named", "ResetNamed"), Rule("fixed", n=1, then="hclog")),
}
_GO_TESTING = {  # *testing.T, B, F and testing.TB
    **_rules(("Log", "Error", "Fatal", "Skip"), _ANY),
    **_rules(("Logf", "Errorf", "Fatalf", "Skipf"), _PRINTF),
}
# fmt is no logger, but its calls are written as log lines are (`return fmt.Errorf(...)`),
# and are a log call's usual arguments (`log.Fatal(fmt.Errorf(...))`).
_GO_FMT = {
    **_rules(("Print", "Println", "Sprint", "Sprintln"), _ANY),
    **_rules(("Sprintf", "Printf"), _PRINTF),
    "Errorf": Rule("printf", wraps=True),
    **_rules(("Fprintf", "Appendf"), Rule("printf", lead=1)),
    **_rules(("Fprint", "Fprintln"), _ANY),
}
# The printf calls of error packages (pkg/errors, cockroachdb/errors ...); the standard
# library's errors has none.
_GO_ERRORS = {
    **_rules(("Errorf", "Newf"), Rule("printf", wraps=True)),
    **_rules(("Wrapf", "WithMessagef"), Rule("printf", lead=1, wraps=True)),
}
# Packages whose printf calls are checked inside a log call's arguments: name -> family.
INNER_PRINTF = {"fmt": "go_fmt", "errors": "go_errors"}

FAMILIES: dict[str, dict[str, Rule]] = {
    "go_log": _GO_LOG,
    "go_fmt": _GO_FMT,
    "go_errors": _GO_ERRORS,
    "go_logger": _GO_LOGGER,
    "hclog": _HCLOG,
    "go_testing": _GO_TESTING,
    "slog": _SLOG_FUNCS,
    "slog_logger": {k: v for k, v in _SLOG_FUNCS.items()},
    "zap": _ZAP,
    "zap_sugar": _ZAP_SUGAR,
    "logrus": _LOGRUS,
    "zerolog": _ZEROLOG,
    "zerolog_event": _ZEROLOG_EVENT,
    "py_logging": _PY_LOGGING,
    "loguru": _LOGURU,
    "structlog": _STRUCTLOG,
    "console": _CONSOLE,
    "pino": _PINO,
    "winston": _WINSTON,
    "js_logger": _JS_LOGGER,
    "rust_log": _RUST_LOG,
    "tracing": _TRACING,
}

# Every method name some family has: the cheap filter before any parsing.
ALL_METHODS = frozenset(name for rules in FAMILIES.values() for name in rules)
