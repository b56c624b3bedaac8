"""Which logger a name is: its family (the library behind it) and the line that declares it,
from what the scope bound it to (a type, a value, an import)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .scope import Binding, Scope

_GO_PATH_FAMILY = {
    "log": "go_log",
    "log/slog": "slog",
    "golang.org/x/exp/slog": "slog",
    "go.uber.org/zap": "zap",
    "github.com/sirupsen/logrus": "logrus",
    "github.com/rs/zerolog/log": "zerolog",
    "github.com/rs/zerolog": "zerolog",
    "github.com/hashicorp/go-hclog": "hclog",
    "fmt": "go_fmt",
}


def resolve(
    logger: str, hint: str, scope: Scope, lang: str, fits: Callable[[str], bool] | None = None
) -> tuple[str, str] | None:
    """(family, declaration line) of a logger expression, or None when it is not a logger.
    `fits(family)`: whether the call typed is one of the family's (for a family guessed)."""
    if lang == "go":
        return _resolve_go(logger, scope, fits or (lambda _family: True))
    if lang == "python":
        return _resolve_python(logger, scope)
    if lang == "rust":
        return _resolve_rust(logger, hint, scope)
    return _resolve_js(logger, scope)


# A type or a name that says logger, where the library behind it cannot be seen: `Logger`,
# `hclog.Logger`, `FieldLogger`, `LogSink`; `l`, `lg`, `log`, `logger`, `reqLogger`, `logCtx`.
_LOGGER_TYPE = re.compile(r"Log(?:ger)?$|^Log")
_LOGGER_NAME = re.compile(r"^(?:l|lg|lgr|log|logger|logr)$|Log(?:ger)?$|^log(?:ger)?[A-Z_]")
# A call that gives a logger: `tx.db.Logger()`, `dcontext.GetLogger(ctx)`, `getLogger()`.
_LOGGER_CALL = re.compile(r"(?:^|\.)(?:\w*Log(?:ger)?\w*)\([^()]*\)$")
_TESTING_TYPES = frozenset({"T", "B", "F", "TB"})


def _named_like_logger(expr: str) -> bool:
    """`lg`, `r.logger`, `reqLogger`: the last name of `expr` says logger."""
    return _LOGGER_NAME.search(expr.rsplit(".", 1)[-1]) is not None


def _logging_package(name: str) -> bool:
    """An imported package whose name says logging: klog, glog, a project's own `log`."""
    return "log" in name.lower()


def _go_family_of_type(type_text: str, scope: Scope) -> str | None:
    match = re.search(r"(\w+)\.(\w+)", type_text)
    if match is not None:
        path = scope.packages.get(match.group(1), "")
        family = _library_type(_GO_PATH_FAMILY.get(path), match.group(2))
        if family is not None:
            return family
        if path == "testing" and match.group(2) in _TESTING_TYPES:
            return "go_testing"
    names = re.findall(r"\w+", type_text)
    return "go_logger" if names and _LOGGER_TYPE.search(names[-1]) else None


def _library_type(family: str | None, name: str) -> str | None:
    """The family of type `name` of the logging library `family`, if it is its logger."""
    if family == "slog" and name == "Logger":
        return "slog_logger"
    if family == "zap":
        return {"Logger": "zap", "SugaredLogger": "zap_sugar"}.get(name)
    if family == "logrus" and name in ("Logger", "Entry", "FieldLogger", "Ext1FieldLogger"):
        return "logrus"
    if family in ("zerolog", "go_log", "hclog") and name == "Logger":
        return family
    return None


def _go_family_of_value(value: str, scope: Scope) -> str | None:
    value = value.strip()
    if not value:
        return None
    if re.search(r"\.Sugar\(\)\s*$", value):
        return "zap_sugar"
    match = re.match(r"&?(\w+)(?:\.(\w+))?", value)
    if match is None:
        return None
    root, member = match.group(1), match.group(2) or ""
    if root in scope.packages:
        path = scope.packages[root]
        family = _GO_PATH_FAMILY.get(path)
        if family is None:
            # A package of the project's own or one we do not know: it gives a logger when it
            # says so (`log.G(ctx)`, `klog.V(2)`, `dcontext.GetLogger(ctx)`).
            gives_logger = _logging_package(root) or _LOGGER_CALL.search(value)
            return "go_logger" if gives_logger else None
        return _library_value(family, member)
    binding = scope.bindings.get(root)
    if binding is not None and member in ("With", "Named", "WithGroup", "WithField", "WithFields"):
        return _go_family_of_binding(binding, scope)
    return "go_logger" if _LOGGER_CALL.search(value) else None


def _library_value(family: str, member: str) -> str | None:
    """The family of `pkg.member...` where pkg is the logging library `family`."""
    if family == "slog" and member in ("New", "Default", "With", "NewLogLogger"):
        return "slog_logger"
    if family == "zap":
        if member == "S":
            return "zap_sugar"
        constructors = ("New", "NewProduction", "NewDevelopment", "NewExample", "NewNop")
        return "zap" if member in (*constructors, "Must", "L") else None
    logrus_makers = ("New", "WithField", "WithFields", "WithError", "StandardLogger")
    if family == "logrus" and member in (*logrus_makers, "NewEntry", "WithContext"):
        return "logrus"
    if family == "zerolog" and member in ("New", "Ctx", "Nop", "With", "Logger", "Output"):
        return "zerolog"
    if family == "go_log" and member in ("New", "Default"):
        return "go_log"
    if family == "hclog" and member in ("New", "Default", "L", "FromContext"):
        return "hclog"
    return None


def _go_family_of_binding(binding: Binding, scope: Scope) -> str | None:
    return _go_family_of_type(binding.type_text, scope) or _go_family_of_value(
        binding.value_text, scope
    )


# Libraries whose logger is one type: a logger named so, declared where we cannot see, in a
# file that imports one of them only, is most likely its (`r.logger` of a struct declared in
# another file of the package).
_ONE_LOGGER_TYPE = {"github.com/hashicorp/go-hclog": "hclog", "log/slog": "slog_logger"}


def _guessed(scope: Scope, fits: Callable[[str], bool]) -> str:
    """The family of a logger known by its name only."""
    found = {_ONE_LOGGER_TYPE[p] for p in scope.packages.values() if p in _ONE_LOGGER_TYPE}
    if len(found) == 1 and fits(family := found.pop()):
        return family
    return "go_logger"


def _resolve_go(logger: str, scope: Scope, fits: Callable[[str], bool]) -> tuple[str, str] | None:
    root = logger.split(".", 1)[0].split("(", 1)[0]
    if logger.endswith(")") or (root in scope.packages and "." in logger):
        # A call that gives the logger (`zap.L()`, `log.G(ctx)`), or a package's variable
        # (`log.L`): what the package and the call say.
        family = _go_family_of_value(logger, scope)
        if family is None:
            return None
        if root in scope.packages:
            return family, f'import "{scope.packages[root]}"'
        binding = scope.bindings.get(root)
        return family, binding.line if binding is not None else ""
    binding = scope.members.get(logger) if "." in logger else scope.bindings.get(logger)
    if binding is not None:
        family = _go_family_of_binding(binding, scope)
        if family is None and _named_like_logger(logger):
            family = _guessed(scope, fits)
        return _declared(binding, family)
    path = scope.packages.get(logger)
    if path is not None:
        family = _GO_PATH_FAMILY.get(path)
        if family is None and _logging_package(logger):
            family = "go_logger"
        return None if family is None else (family, f'import "{path}"')
    if _named_like_logger(logger):
        return _guessed(scope, fits), ""  # declared where we cannot see (another file)
    return None


def _python_family(binding: Binding, scope: Scope) -> str | None:
    text = binding.type_text + " " + binding.value_text
    if "loguru" in text:
        return "loguru"
    if "structlog" in text:
        return "structlog"
    if re.search(r"\blogging\.(?:getLogger|Logger|LoggerAdapter|root)\b", text):
        return "py_logging"
    if re.search(r"\b(?:getLogger|get_logger)\(", text):
        # a helper named like the logging function: find where the name came from
        callee = re.search(r"\b(\w+)\(", binding.value_text)
        origin = scope.bindings.get(callee.group(1)) if callee else None
        if origin is not None and origin.value_text.startswith("structlog"):
            return "structlog"
        return "py_logging"
    match = re.match(r"(\w+)\.(?:bind|opt|getChild|new)\(", binding.value_text)
    if match:
        inner = scope.bindings.get(match.group(1))
        if inner is not None and inner is not binding:
            return _python_family(inner, scope)
    if binding.value_text.startswith("logging."):
        return "py_logging"
    return None


def _resolve_python(logger: str, scope: Scope) -> tuple[str, str] | None:
    if logger.startswith("self."):
        binding = scope.members.get(logger)
        if binding is None:
            return None
        return _declared(binding, _python_family(binding, scope))
    if "." in logger:
        return None
    binding = scope.bindings.get(logger)
    if binding is not None:
        return _declared(binding, _python_family(binding, scope))
    module = scope.packages.get(logger)
    if module == "logging":
        return "py_logging", "import logging"
    if module == "structlog":
        return None
    return None


def _js_family(binding: Binding, scope: Scope) -> str | None:
    text = binding.type_text + " " + binding.value_text
    for name, family in (("pino", "pino"), ("winston", "winston")):
        if name in text:
            return family
    match = re.match(r"(?:new\s+)?(\w+)(?:\.(\w+))?", binding.value_text)
    if match:
        root = match.group(1)
        source = scope.packages.get(root, "")
        if "pino" in source:
            return "pino"
        if "winston" in source:
            return "winston"
        inner = scope.bindings.get(root)
        if inner is not None and inner is not binding and match.group(2) == "child":
            return _js_family(inner, scope)
    if binding.value_text.startswith("import:"):
        return "js_logger"
    if re.search(r"\bLogger\b", binding.type_text):
        return "js_logger"
    return None


def _resolve_js(logger: str, scope: Scope) -> tuple[str, str] | None:
    if logger == "console":
        return "console", ""
    binding = scope.members.get(logger) if "." in logger else scope.bindings.get(logger)
    if binding is None:
        source = scope.packages.get(logger)
        if source is not None and ("log" in source or "log" in logger.lower()):
            library = (
                "pino" if "pino" in source else "winston" if "winston" in source else "js_logger"
            )
            return library, f'import {logger} from "{source}"'
        return None
    family = _js_family(binding, scope)
    if family is None and "log" in logger.lower():
        family = "js_logger"
    return _declared(binding, family)


def _resolve_rust(logger: str, hint: str, scope: Scope) -> tuple[str, str] | None:
    if hint:
        return ("tracing" if hint == "tracing" else "rust_log"), f"use {hint};"
    binding = scope.bindings.get(logger)
    if binding is not None and binding.value_text.startswith("use:"):
        crate = binding.value_text.split(":")[1]
        if crate in ("tracing", "log"):
            return ("tracing" if crate == "tracing" else "rust_log"), binding.line
    if "tracing" in scope.packages:
        return "tracing", "use tracing;"
    if "log" in scope.packages:
        return "rust_log", "use log;"
    return None


def _declared(binding: Binding, family: str | None) -> tuple[str, str] | None:
    """(family, the line declaring `binding`) when the binding is a logger (`family`)."""
    return None if family is None else (family, binding.line)
