"""Go error checks without a model: the `if err != nil { return <zero values>, err }` block.

Offered on an empty line right after a statement that assigns `err`, once the user has typed
the start of `if err`, and inside a fresh `if err != nil {` block (the body alone). The return
values are the zero values of the innermost enclosing function's results, with `err` in the
`error` result's place; named types are resolved in the file, in the package's other files and
in the packages of the same Go module (by go.mod), common standard-library types by what they
are. Functions without results return plainly, tests stop with their receiver (`t.Fatal(err)`
or testify's `require.NoError`), `main` does what the file already does, HTTP handlers answer
with `http.Error`. When the file wraps its errors (`fmt.Errorf("...: %w", err)`,
`errors.Wrap(err, "...")`), the block wraps too, with a message guessed from the call that
failed; the engine may ask the model for a better one (`ErrCheck.message_prefix`).

Pure: no editor, no network. Sibling files are parsed once per version (mtime, size).
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node, Parser, Tree

from . import languages, treesitter, utf8
from .languages.go import package_name as go_package_name
from .types import IndentStyle

IF_ERR = "if err != nil {"

_FUNCTIONS = languages.GO.function_types | languages.GO.lambda_types
_NIL_KINDS = frozenset(
    {"pointer_type", "slice_type", "map_type", "channel_type", "function_type", "interface_type"}
)
_NUMBERS = frozenset(
    {
        *("int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32"),
        *("uint64", "uintptr", "float32", "float64", "complex64", "complex128", "byte", "rune"),
    }
)
_NIL_NAMES = frozenset({"error", "any"})
_MAX_DEPTH = 200  # deeper than this: code broken past reasoning about (bounded work)

# Standard-library (and a few ubiquitous) types by import path and name: "nil", "0", '""',
# "false", "{}" (a struct or array: `T{}`), or the expression to use.
_KNOWN: dict[str, str] = {}


def _known(path: str, kind: str, names: str) -> None:
    for name in names.split():
        _KNOWN[f"{path}.{name}"] = kind


_known("time", "0", "Duration Month Weekday")
_known("time", "{}", "Time Location Timer Ticker")
_known("context", "nil", "Context CancelFunc CancelCauseFunc")
_known(
    "io",
    "nil",
    "Reader Writer Closer ReadCloser WriteCloser ReadWriter ReadWriteCloser ReadSeeker "
    "ReadSeekCloser ReaderAt WriterAt WriterTo ReaderFrom Seeker ByteReader ByteScanner "
    "ByteWriter RuneReader RuneScanner StringWriter",
)
_known("io", "{}", "SectionReader PipeReader PipeWriter LimitedReader")
_known("io/fs", "nil", "FS File FileInfo DirEntry ReadDirFile")
_known("io/fs", "0", "FileMode")
_known("os", "nil", "FileInfo DirEntry Signal")
_known("os", "0", "FileMode")
_known("os", "{}", "File Process ProcessState")
_known("os/exec", "{}", "Cmd")
_known(
    "net/http",
    "nil",
    "Header Handler HandlerFunc RoundTripper CookieJar ResponseWriter File FileSystem",
)
_known("net/http", "{}", "Request Response Client Server Cookie Transport ServeMux")
_known("net/url", "nil", "Values")
_known("net/url", "{}", "URL Userinfo")
_known("net", "nil", "IP IPMask HardwareAddr Conn Listener Addr PacketConn Error")
_known("net", "{}", "IPNet TCPAddr UDPAddr Dialer Resolver TCPConn UDPConn")
_known("net/netip", "{}", "Addr AddrPort Prefix")
_known("encoding/json", "nil", "RawMessage Marshaler Unmarshaler")
_known("encoding/json", '""', "Number")
_known("encoding/json", "{}", "Decoder Encoder")
_known("database/sql", "nil", "Result Scanner")
_known(
    "database/sql",
    "{}",
    "DB Tx Rows Row Stmt Conn NullString NullInt64 NullInt32 NullInt16 NullFloat64 NullBool "
    "NullTime NullByte",
)
_known("database/sql/driver", "nil", "Value Valuer Driver Conn Rows Result Stmt Tx")
_known("sync", "{}", "Mutex RWMutex WaitGroup Once Map Pool Cond")
_known("sync/atomic", "{}", "Int32 Int64 Uint32 Uint64 Bool Value Pointer")
_known("bytes", "{}", "Buffer Reader")
_known("strings", "{}", "Builder Reader Replacer")
_known("bufio", "{}", "Reader Writer Scanner ReadWriter")
_known("bufio", "nil", "SplitFunc")
_known("math/big", "{}", "Int Float Rat")
_known("regexp", "{}", "Regexp")
_known("reflect", "nil", "Type")
_known("reflect", "{}", "Value StructField Method")
_known("reflect", "0", "Kind")
_known("log", "{}", "Logger")
_known("log/slog", "0", "Level Kind")
_known("log/slog", "{}", "Logger Attr Value Record HandlerOptions")
_known("log/slog", "nil", "Handler Leveler LogValuer")
_known("fmt", "nil", "Stringer Formatter State GoStringer")
_known("sort", "nil", "Interface")
_known("hash", "nil", "Hash Hash32 Hash64")
_known("crypto", "0", "Hash")
_known("crypto", "nil", "PublicKey PrivateKey Signer Decrypter")
_known("crypto/tls", "{}", "Config Certificate Conn ConnectionState")
_known("crypto/x509", "{}", "Certificate CertPool CertificateRequest")
_known("crypto/rsa", "{}", "PrivateKey PublicKey")
_known("crypto/ecdsa", "{}", "PrivateKey PublicKey")
_known("crypto/ed25519", "nil", "PrivateKey PublicKey")
_known("image", "nil", "Image")
_known("image", "{}", "Point Rectangle RGBA NRGBA Gray")
_known("image/color", "nil", "Color Model")
_known("image/color", "{}", "RGBA NRGBA Gray")
_known("go/ast", "nil", "Node Expr Stmt Decl Spec")
_known("go/ast", "{}", "File Ident CallExpr FuncDecl Package")
_known("go/token", "0", "Pos Token")
_known("go/token", "{}", "FileSet Position")
_known("syscall", "0", "Signal Errno")
_known("unicode/utf8", "0", "")
_known("text/template", "{}", "Template")
_known("html/template", "{}", "Template")
_known("html/template", '""', "HTML JS CSS URL")
_known("embed", "{}", "FS")
_known("archive/zip", "{}", "Reader Writer File")
_known("archive/tar", "{}", "Reader Writer Header")
_known("compress/gzip", "{}", "Reader Writer")
_known("encoding/csv", "{}", "Reader Writer")
_known("encoding/xml", "{}", "Decoder Encoder Name")
_known("mime/multipart", "{}", "Form FileHeader Reader Writer Part")
_known("mime/multipart", "nil", "File")
_known("net/mail", "{}", "Address Message")
_known("os/user", "{}", "User Group")
_known("path/filepath", "nil", "WalkFunc")
_known("testing", "{}", "T B F M")
_known("github.com/google/uuid", "uuid.Nil", "UUID")
_known("github.com/shopspring/decimal", "{}", "Decimal")
_known("go.uber.org/zap", "{}", "Field Logger SugaredLogger Config")
_known("go.uber.org/zap/zapcore", "0", "Level")
_known("github.com/sirupsen/logrus", "0", "Level")
_known("github.com/sirupsen/logrus", "{}", "Logger Entry")
_known("github.com/sirupsen/logrus", "nil", "Fields")
_known("github.com/rs/zerolog", "{}", "Logger Event")
_known("gorm.io/gorm", "{}", "DB Model")
_known("github.com/jackc/pgx/v5", "nil", "Rows Row Tx")
_known("github.com/jackc/pgx/v5/pgconn", "{}", "CommandTag")
_known("google.golang.org/grpc/codes", "0", "Code")
_known("google.golang.org/protobuf/proto", "nil", "Message")

_TESTING = {"*T": "t", "*B": "b", "*F": "f", "TB": "tb"}


@dataclass(frozen=True, slots=True)
class ErrCheck:
    """A suggestion to insert at the cursor.

    `kind` is "block" (the whole `if err != nil {...}` on an empty line), "rest" (the rest of
    it after a typed `if e...`), "body" (inside a fresh block) or "noerror" (testify's
    `require.NoError(t, err)` line). `returns` is the statement(s) of the body. In a file that
    wraps its errors, `message` is the guessed message inside `text`, which is exactly
    `message_prefix + message + message_suffix` (otherwise those are empty)."""

    text: str
    kind: str
    returns: str
    message: str = ""
    message_prefix: str = ""
    message_suffix: str = ""

    def with_message(self, message: str) -> ErrCheck:
        """The same suggestion with another error message (wrap mode only)."""
        if not self.message_prefix:
            return self
        text = self.message_prefix + message + self.message_suffix
        returns = self.returns.replace(self.message, message, 1) if self.message else self.returns
        return ErrCheck(text, self.kind, returns, message, self.message_prefix, self.message_suffix)


# --------------------------------------------------------------------------------------------
# Types of a package folder (and of the module's other packages)


@dataclass(frozen=True, slots=True)
class _TypeDecl:
    """`type Name <underlying>`: the underlying type's category and, for named or qualified
    ones, what it refers to."""

    category: str  # "nil" | "0" | '""' | "false" | "{}" | "ref" | "qref" | "unknown"
    ref: str = ""  # "ref": a type name of the same package; "qref": "alias.Name"
    alias: bool = False


@dataclass(slots=True)
class _FileTypes:
    key: tuple[int, int]
    package: str
    types: dict[str, _TypeDecl]
    imports: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Module:
    root: str
    name: str
    requires: dict[str, str]  # module path -> version


def _read_go_mod(root: str, text: str) -> _Module | None:
    name = ""
    requires: dict[str, str] = {}
    in_block = False
    for raw in text.split("\n"):
        line = raw.split("//", 1)[0].strip()
        if line.startswith("module "):
            name = line[len("module ") :].strip().strip('"')
        elif line.startswith("require ("):
            in_block = True
        elif in_block and line == ")":
            in_block = False
        elif in_block or line.startswith("require "):
            parts = line.removeprefix("require ").split()
            if len(parts) >= 2:
                requires[parts[0].strip('"')] = parts[1]
    return _Module(root, name, requires) if name else None


def _module_cache() -> str:
    """Where the go command keeps downloaded modules (GOMODCACHE, GOPATH/pkg/mod, ~/go)."""
    cache = os.environ.get("GOMODCACHE")
    if cache:
        return cache
    gopath = os.environ.get("GOPATH", "").split(os.pathsep)[0]
    return os.path.join(gopath or os.path.expanduser("~/go"), "pkg", "mod")


def _escape(module_path: str) -> str:
    """The module cache's case encoding: an upper-case letter becomes "!" and its lower case."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), module_path)


class GoPackages:
    """The named types of Go package folders, each file parsed once per (mtime, size).

    Thread-safe. `max_files` bounds the files kept."""

    def __init__(self, max_files: int = 512, exclude: Callable[[str], bool] | None = None) -> None:
        self.max_files = max_files
        self._exclude = exclude  # files never read (privacy.deny): exclude(path) is true
        self.parsed_files = 0
        self._lock = threading.Lock()
        self._parser: Parser | None = None
        self._files: OrderedDict[str, _FileTypes] = OrderedDict()
        self._modules: dict[str, _Module | None] = {}

    def folder_types(self, folder: str, package: str, exclude: str = "") -> dict[str, _TypeDecl]:
        """Name -> declaration for the package `package` in `folder`, `exclude` left out."""
        merged: dict[str, _TypeDecl] = {}
        tests = exclude.endswith("_test.go")
        excluded = os.path.abspath(exclude) if exclude else ""
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return merged
        for entry in entries:
            name = entry.name
            if not name.endswith(".go") or name.startswith("."):
                continue
            if name.endswith("_test.go") and not tests:
                continue
            if excluded and os.path.abspath(entry.path) == excluded:
                continue
            if self._exclude is not None and self._exclude(entry.path):
                continue
            found = self._file(entry)
            if found is not None and (not package or found.package == package):
                for type_name, decl in found.types.items():
                    merged.setdefault(type_name, decl)
        return merged

    def module_folder(self, folder: str, import_path: str) -> str | None:
        """The folder of package `import_path` as the Go module that `folder` is in sees it: one
        of its own packages, a vendored one, or a required module in the module cache."""
        module = self._module_of(folder)
        if module is None:
            return None
        if import_path == module.name:
            return module.root
        if import_path.startswith(module.name + "/"):
            return os.path.join(module.root, *import_path[len(module.name) + 1 :].split("/"))
        vendored = os.path.join(module.root, "vendor", *import_path.split("/"))
        if os.path.isdir(vendored):
            return vendored
        cache = _module_cache()
        if not cache:
            return None
        for required, version in sorted(module.requires.items(), key=lambda r: -len(r[0])):
            if import_path == required or import_path.startswith(required + "/"):
                rest = import_path[len(required) :].strip("/")
                base = os.path.join(cache, *f"{_escape(required)}@{version}".split("/"))
                found = os.path.join(base, *rest.split("/")) if rest else base
                return found if os.path.isdir(found) else None
        return None

    def _module_of(self, folder: str) -> _Module | None:
        folder = os.path.abspath(folder)
        with self._lock:
            if folder in self._modules:
                return self._modules[folder]
        found: _Module | None = None
        current = folder
        for _ in range(12):
            try:
                with open(os.path.join(current, "go.mod"), encoding="utf-8") as handle:
                    found = _read_go_mod(current, handle.read())
                break
            except OSError:
                parent = os.path.dirname(current)
                if parent == current:
                    break
                current = parent
        with self._lock:
            self._modules[folder] = found
        return found

    def _file(self, entry: os.DirEntry[str]) -> _FileTypes | None:
        try:
            stat = entry.stat()
        except OSError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._files.get(entry.path)
            if cached is not None and cached.key == key:
                self._files.move_to_end(entry.path)
                return cached
        if stat.st_size > 2_000_000:
            return None
        try:
            with open(entry.path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        with self._lock:
            if self._parser is None:
                language = treesitter.get_parser("go")
                if language is None or language.language is None:
                    return None
                self._parser = Parser(language.language)
            tree = self._parser.parse(data)
            self.parsed_files += 1
        package, types, imports = _file_facts(tree.root_node, data)
        found = _FileTypes(key, package, types, imports)
        with self._lock:
            self._files[entry.path] = found
            self._files.move_to_end(entry.path)
            while len(self._files) > self.max_files:
                self._files.popitem(last=False)
        return found


def _text(data: bytes, node: Node) -> str:
    return utf8.decode(data[node.start_byte : node.end_byte])


def _file_facts(root: Node, data: bytes) -> tuple[str, dict[str, _TypeDecl], dict[str, str]]:
    package = ""
    types: dict[str, _TypeDecl] = {}
    for node in root.named_children:
        if node.type == "package_clause":
            for child in node.named_children:
                if child.type == "package_identifier":
                    package = _text(data, child)
        elif node.type == "type_declaration":
            for spec in node.named_children:
                if spec.type not in ("type_spec", "type_alias"):
                    continue
                name = spec.child_by_field_name("name")
                kind = spec.child_by_field_name("type")
                if name is not None and kind is not None:
                    types[_text(data, name)] = _declared(kind, data, spec.type == "type_alias")
    return package, types, _imports(root, data)


def _declared(kind: Node, data: bytes, alias: bool) -> _TypeDecl:
    while kind.type == "parenthesized_type" and kind.named_child_count:
        kind = kind.named_children[0]
    category = _category(kind, data)
    if category == "ref":
        base = kind.child_by_field_name("type") if kind.type == "generic_type" else kind
        return _TypeDecl("ref", _text(data, base or kind), alias)
    if category == "qref":
        return _TypeDecl("qref", _text(data, kind), alias)
    return _TypeDecl(category, "", alias)


def _category(kind: Node, data: bytes) -> str:
    kind_type = kind.type
    if kind_type in _NIL_KINDS:
        return "nil"
    if kind_type in ("struct_type", "array_type", "implicit_length_array_type"):
        return "{}"
    if kind_type == "qualified_type":
        return "qref"
    if kind_type == "generic_type":
        return "ref"
    if kind_type == "type_identifier":
        name = _text(data, kind)
        if name in _NUMBERS:
            return "0"
        if name == "string":
            return '""'
        if name == "bool":
            return "false"
        if name in _NIL_NAMES:
            return "nil"
        return "ref"
    if kind_type == "parenthesized_type" and kind.named_child_count:
        return _category(kind.named_children[0], data)
    return "unknown"


def _imports(root: Node, data: bytes) -> dict[str, str]:
    """Local package name -> import path."""
    found: dict[str, str] = {}
    for node in root.named_children:
        if node.type != "import_declaration":
            continue
        specs: list[Node] = []
        for child in node.named_children:
            if child.type == "import_spec":
                specs.append(child)
            elif child.type == "import_spec_list":
                specs.extend(c for c in child.named_children if c.type == "import_spec")
        for spec in specs:
            path_node = spec.child_by_field_name("path")
            if path_node is None:
                continue
            path = _text(data, path_node).strip('"`')
            name_node = spec.child_by_field_name("name")
            name = _text(data, name_node) if name_node is not None else ""
            if name in ("_", "."):
                continue
            if not name:
                name = go_package_name(path)
            found[name] = path
    return found


# --------------------------------------------------------------------------------------------
# Zero values


@dataclass(slots=True)
class _Scope:
    data: bytes
    local: dict[str, _TypeDecl]
    imports: dict[str, str]
    type_params: set[str]
    folder: str
    package: str
    path: str
    packages: GoPackages | None
    cursor: int = 0  # byte offset of the cursor line
    _package_types: dict[str, _TypeDecl] | None = None

    def named(self, name: str) -> _TypeDecl | None:
        if name in self.local:
            return self.local[name]
        if self._package_types is None:
            self._package_types = {}
            if self.packages is not None and self.folder:
                self._package_types = self.packages.folder_types(
                    self.folder, self.package, self.path
                )
        return self._package_types.get(name)

    def qualified(self, alias: str, name: str) -> _TypeDecl | None:
        """A type of another package: the table of known ones, or the module's own folders."""
        import_path = self.imports.get(alias)
        if import_path is None:
            return None
        known = _KNOWN.get(f"{import_path}.{name}")
        if known is not None:
            return _TypeDecl(known)
        if self.packages is None or not self.folder:
            return None
        folder = self.packages.module_folder(self.folder, import_path)
        if folder is None:
            return None
        return self.packages.folder_types(folder, "").get(name)


def _guess(written: str) -> str:
    """An unseen named type: interfaces and function types are usually named like `Reader`,
    `Handler`, `Option`, `...Func`; the rest usually are structs."""
    bare = written.rsplit(".", 1)[-1].split("[", 1)[0]
    if re.search(r"(er|or|Interface|Func|Fn|Option|Context|Conn|Service|Store|API)$", bare):
        return "nil"
    return written + "{}"


def _zero_of_decl(decl: _TypeDecl, written: str, scope: _Scope, depth: int) -> str:
    category = decl.category
    if category == "{}":
        return written + "{}"
    if category in ("nil", "0", '""', "false"):
        return category
    if category.startswith(("uuid.", "*")):
        return category
    if depth > 8:
        return _guess(written)
    if category == "ref":
        inner = scope.named(decl.ref)
        if inner is None:
            return _guess(written)
        if inner.category == "{}":
            return written + "{}"
        return _zero_of_decl(inner, written, scope, depth + 1)
    if category == "qref":
        alias, _, name = decl.ref.partition(".")
        inner = scope.qualified(alias, name)
        if inner is None:
            return _guess(written)
        return _zero_of_decl(inner, written, scope, depth + 1)
    return _guess(written)


def zero_value(kind: Node, scope: _Scope) -> str | None:
    """The zero value of a result type as Go code writes it; None for a type parameter (the
    caller declares `var zero T`)."""
    while kind.type == "parenthesized_type" and kind.named_child_count:
        kind = kind.named_children[0]
    written = _text(scope.data, kind)
    kind_type = kind.type
    if kind_type in _NIL_KINDS:
        return "nil"
    if kind_type in ("struct_type", "array_type", "implicit_length_array_type"):
        return written + "{}"
    if kind_type == "type_identifier":
        if written in scope.type_params:
            return None
        if written in _NUMBERS:
            return "0"
        if written == "string":
            return '""'
        if written == "bool":
            return "false"
        if written in _NIL_NAMES:
            return "nil"
        decl = scope.named(written)
        return _guess(written) if decl is None else _zero_of_decl(decl, written, scope, 0)
    if kind_type == "generic_type":
        base = kind.child_by_field_name("type")
        if base is None:
            return _guess(written)
        if base.type == "qualified_type":
            return _qualified_zero(base, written, scope)
        decl = scope.named(_text(scope.data, base))
        return _guess(written) if decl is None else _zero_of_decl(decl, written, scope, 0)
    if kind_type == "qualified_type":
        return _qualified_zero(kind, written, scope)
    if kind_type == "negated_type":
        return "nil"
    return _guess(written)


def _qualified_zero(kind: Node, written: str, scope: _Scope) -> str:
    package = kind.child_by_field_name("package")
    name = kind.child_by_field_name("name")
    if package is None or name is None:
        return _guess(written)
    decl = scope.qualified(_text(scope.data, package), _text(scope.data, name))
    if decl is None:
        return _guess(written)
    return _zero_of_decl(decl, written, scope, 0)


# --------------------------------------------------------------------------------------------
# The function around the cursor


@dataclass(slots=True)
class _Function:
    node: Node
    results: list[tuple[str, Node]]  # (name or "", type) per result
    params: list[tuple[str, Node]]
    name: str


def _params(plist: Node | None, data: bytes) -> list[tuple[str, Node]]:
    out: list[tuple[str, Node]] = []
    if plist is None:
        return out
    if plist.type != "parameter_list":
        return [("", plist)]  # a single unnamed result type
    for decl in plist.named_children:
        if decl.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        kind = decl.child_by_field_name("type")
        if kind is None:
            continue
        names = decl.children_by_field_name("name")
        if names:
            out.extend((_text(data, n), kind) for n in names)
        else:
            out.append(("", kind))
    return out


def _function(node: Node, data: bytes) -> _Function:
    name_node = node.child_by_field_name("name")
    return _Function(
        node=node,
        results=_params(node.child_by_field_name("result"), data),
        params=_params(node.child_by_field_name("parameters"), data),
        name=_text(data, name_node) if name_node is not None else "",
    )


def _type_params(functions: list[Node], data: bytes) -> set[str]:
    """Type parameter names in scope: of the enclosing declarations and their receivers."""
    names: set[str] = set()
    for fn in functions:
        plist = fn.child_by_field_name("type_parameters")
        if plist is not None:
            for decl in plist.named_children:
                names.update(_text(data, n) for n in decl.children_by_field_name("name"))
        receiver = fn.child_by_field_name("receiver")
        if receiver is not None:
            for _name, kind in _params(receiver, data):
                while kind.type == "pointer_type" and kind.named_child_count:
                    kind = kind.named_children[-1]
                if kind.type == "generic_type":
                    args = kind.child_by_field_name("type_arguments")
                    for arg in args.named_children if args is not None else ():
                        names.add(_text(data, arg))
    return names


def _testing_receiver(fn: _Function, data: bytes, imports: dict[str, str]) -> str | None:
    alias = next((a for a, p in imports.items() if p == "testing"), None)
    if alias is None:
        return None
    for name, kind in fn.params:
        written = _text(data, kind).replace(" ", "")
        for suffix in _TESTING:
            pointer = suffix.startswith("*")
            if written == ("*" if pointer else "") + f"{alias}.{suffix.lstrip('*')}":
                return name or None
    return None


# --------------------------------------------------------------------------------------------
# The file's habits

_WRAP_FMT = re.compile(r'fmt\.Errorf\("([^"\\]*(?:\\.[^"\\]*)*)"\s*,[^\n]*\berr\)')
_WRAP_PKG = re.compile(r'errors\.Wrap\(err,\s*"([^"\\]*)"\)')
_PLAIN_RETURN = re.compile(r"^\s*return (?:[^\n]*, )?err\s*$", re.M)


@dataclass(frozen=True, slots=True)
class _WrapStyle:
    kind: str  # "fmt" | "pkg"
    separator: str  # between the message and %w: ": " mostly
    verb: str  # "%w" (or "%v" in old code)


def _wrap_style(text: str) -> _WrapStyle | None:
    """How the file wraps errors, if it mostly does."""
    fmt_wraps = _WRAP_FMT.findall(text)
    pkg_wraps = _WRAP_PKG.findall(text)
    plain = len(_PLAIN_RETURN.findall(text))
    if len(fmt_wraps) >= len(pkg_wraps) and fmt_wraps and len(fmt_wraps) >= plain:
        verbs = [m for m in fmt_wraps if m.endswith(("%w", "%v"))]
        if not verbs:
            return None
        verb = "%v" if sum(m.endswith("%v") for m in verbs) > len(verbs) / 2 else "%w"
        separator = ": " if sum(m.endswith(": " + verb) for m in verbs) * 2 >= len(verbs) else " "
        return _WrapStyle("fmt", separator, verb)
    if pkg_wraps and len(pkg_wraps) >= plain:
        return _WrapStyle("pkg", "", "")
    return None


def _words(name: str) -> str:
    """`loadConfig` -> "load config", `ReadFile` -> "read file", `DB` -> "db"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return spaced.replace("_", " ").lower().strip()


def _message_for(statement: Node | None, data: bytes) -> str:
    """A wrap message from the call that failed: `os.ReadFile(p)` -> "read file"."""
    if statement is None:
        return ""
    call = None
    for child in _descendants(statement, 3):
        if child.type == "call_expression":
            call = child
            break
    if call is None:
        return ""
    function = call.child_by_field_name("function")
    if function is None:
        return ""
    if function.type == "selector_expression":
        field = function.child_by_field_name("field")
        operand = function.child_by_field_name("operand")
        name = _text(data, field) if field is not None else ""
        if name in ("New", "Open", "Parse", "Get", "Do", "Run", "Load", "Read", "Write"):
            base = _text(data, operand).rsplit(".", 1)[-1] if operand is not None else ""
            if base and re.fullmatch(r"\w+", base):
                return f"{_words(name)} {_words(base)}".strip()
        return _words(name)
    if function.type == "identifier":
        return _words(_text(data, function))
    return ""


def _descendants(node: Node, depth: int) -> list[Node]:
    out: list[Node] = []
    frontier = [node]
    for _ in range(depth):
        following: list[Node] = []
        for item in frontier:
            following.extend(item.named_children)
        out.extend(following)
        frontier = following
    return out


def _main_habit(fn_node: Node, root: Node, data: bytes, imports: dict[str, str]) -> list[str]:
    """What `main` does with an error: the body of an `if err != nil` already in main (or in
    another function of the file without results), else log.Fatal / os.Exit / panic."""
    for scope in (fn_node, root):
        for body in _err_bodies(scope, data):
            statements = [_text(data, s) for s in body.named_children]
            if (
                statements
                and not any("return" in s.split("(")[0] for s in statements)
                and all(len(s) < 120 and "\n" not in s for s in statements)
            ):
                return statements
    if "log" in imports and imports["log"] == "log":
        return ["log.Fatal(err)"]
    if imports.get("fmt") == "fmt" and imports.get("os") == "os":
        return ["fmt.Fprintln(os.Stderr, err)", "os.Exit(1)"]
    return ["panic(err)"]


def _err_bodies(scope: Node, data: bytes) -> list[Node]:
    """The statement lists of the `if err != nil` blocks inside `scope` (not in nested funcs
    of other kinds' results: only blocks whose function has no results)."""
    found: list[Node] = []
    stack = [scope]
    while stack and len(found) < 4:
        node = stack.pop()
        if node.type == "if_statement":
            condition = node.child_by_field_name("condition")
            consequence = node.child_by_field_name("consequence")
            if (
                condition is not None
                and consequence is not None
                and _text(data, condition).replace(" ", "") == "err!=nil"
            ):
                fn = _enclosing_function(node)
                if fn is not None and fn.child_by_field_name("result") is None:
                    for child in consequence.named_children:
                        if child.type == "statement_list":
                            found.append(child)
        stack.extend(reversed(node.named_children))
    return found


def _enclosing_function(node: Node | None) -> Node | None:
    return next((n for n in treesitter.ancestors(node, _MAX_DEPTH) if n.type in _FUNCTIONS), None)


# --------------------------------------------------------------------------------------------
# Putting it together


def _assigns_err(statement: Node, data: bytes) -> bool:
    kind = statement.type
    if kind in ("short_var_declaration", "assignment_statement"):
        left = statement.child_by_field_name("left")
        if left is None:
            return False
        return any(c.type == "identifier" and _text(data, c) == "err" for c in left.named_children)
    if kind == "var_declaration":
        for spec in statement.named_children:
            if spec.type == "var_spec" and spec.child_by_field_name("value") is not None:
                names = spec.children_by_field_name("name")
                if any(_text(data, n) == "err" for n in names):
                    return True
    return False


def _statement_before(block: Node, row: int) -> Node | None:
    """The last statement of the block (list) containing the cursor row that ends above it."""
    last = None
    for child in block.named_children:
        if child.type == "statement_list":
            inner = _statement_before(child, row)
            if inner is not None:
                last = inner
            continue
        if child.end_point.row < row:
            last = child
        else:
            break
    return last


def _line_start(data: bytes, row: int) -> int:
    offset = 0
    for _ in range(row):
        found = data.find(b"\n", offset)
        if found < 0:
            return len(data)
        offset = found + 1
    return offset


def _body_statements(
    fn: _Function, functions: list[Node], scope: _Scope, root: Node, wrap: _WrapStyle | None
) -> tuple[list[str], list[str], str, str]:
    """(statements before the return, the body's statements, the message prefix inside the
    return (wrap mode), the text after the message)."""
    data = scope.data
    returns_error = any(_text(data, kind) == "error" for _name, kind in fn.results)
    if not returns_error:
        # Tests, and test helpers that return a value but no error, stop the test.
        receiver = _testing_receiver(fn, data, scope.imports)
        if receiver:
            nearby = _nearest_test_body(fn.node, data, scope.cursor)
            habit = _test_habit(data.decode("utf-8", "replace"), receiver, nearby)
            return [], [habit], "", ""
    if not fn.results:
        if fn.node.type == "function_declaration" and fn.name == "main" and scope.package == "main":
            return [], _main_habit(fn.node, root, data, scope.imports), "", ""
        # An HTTP handler (w http.ResponseWriter, r *http.Request) answers with an error; a
        # helper that only writes to w cannot (the response may be under way).
        kinds = {_text(data, kind).replace(" ", ""): name for name, kind in fn.params}
        writer = kinds.get("http.ResponseWriter")
        if writer and "*http.Request" in kinds and scope.imports.get("http") == "net/http":
            return (
                [],
                [f"http.Error({writer}, err.Error(), http.StatusInternalServerError)", "return"],
                "",
                "",
            )
        return [], ["return"], "", ""
    values: list[str] = []
    declarations: list[str] = []
    error_at = -1
    for i, (_name, kind) in enumerate(fn.results):
        written = _text(data, kind)
        if written == "error":
            error_at = i
        zero = zero_value(kind, scope)
        if zero is None:  # a type parameter
            name = "zero" if not declarations else f"zero{written}"
            declarations.append(f"var {name} {written}")
            zero = name
        values.append(zero)
    if error_at < 0:
        return declarations, [f"return {', '.join(values)}"], "", ""
    head = ", ".join([*values[:error_at], "__ERR__", *values[error_at + 1 :]])
    before, _, after = head.partition("__ERR__")
    if wrap is not None and wrap.kind == "fmt":
        prefix = f'return {before}fmt.Errorf("'
        suffix = f'{wrap.separator}{wrap.verb}", err){after}'
        return declarations, [], prefix, suffix
    if wrap is not None and wrap.kind == "pkg":
        return declarations, [], f'return {before}errors.Wrap(err, "', f'"){after}'
    return declarations, [f"return {before}err{after}"], "", ""


def _at_cursor(
    text: str, row: int, col: int, path: str, packages: GoPackages | None, key: str
) -> tuple[Node, Node, list[Node], _Function, _Scope] | None:
    """(root, the node at the cursor, the enclosing functions innermost first, the innermost
    one, what its types resolve against), or None outside any function."""
    data = utf8.encode(text)
    tree = _parse(data, key)
    if tree is None:
        return None
    root = tree.root_node
    node = root.descendant_for_point_range((row, col), (row, col))
    functions = [n for n in treesitter.ancestors(node, _MAX_DEPTH) if n.type in _FUNCTIONS]
    if not functions or node is None:
        return None
    package, local_types, imports = _file_facts(root, data)
    scope = _Scope(
        data=data,
        local=local_types,
        imports=imports,
        type_params=_type_params(functions, data),
        folder=os.path.dirname(path) if path else "",
        package=package,
        path=path,
        packages=packages,
        cursor=_line_start(data, row),
    )
    return root, node, functions, _function(functions[0], data), scope


def suggest(
    text: str,
    row: int,
    line_before: str,
    line_after: str,
    indent: IndentStyle,
    *,
    path: str = "",
    packages: GoPackages | None = None,
    key: str = "",
) -> ErrCheck | None:
    """The error check to offer at the cursor of a Go buffer, or None.

    `text` is the whole buffer, `row` the cursor's row, `line_before`/`line_after` the cursor
    line's text before and after the cursor, `path` the file (its folder is the package)."""
    if line_after.strip():
        return None
    typed = line_before.lstrip()
    if typed and not (IF_ERR.startswith(typed) or typed == IF_ERR):
        return None
    if "err" not in text:
        return None
    lines = text.split("\n")
    if not 0 <= row < len(lines):
        return None
    above = lines[row - 1] if row > 0 else ""
    in_block = not typed and above.strip() == IF_ERR
    point_col = utf8.byte_len(line_before)
    found = _at_cursor(text, row, point_col, path, packages, key)
    if found is None:
        return None
    root, node, functions, fn, scope = found
    data = scope.data
    statement = None
    if in_block and _block_has_body(lines, row, above[: len(above) - len(above.lstrip())]):
        return None  # the block already handles the error: a second return is no help
    if not in_block and _next_line(lines, row).strip() == IF_ERR:
        return None  # the check follows already
    if not in_block:
        # The statement right above the cursor line must assign err (`if err` typed in full
        # needs only err in sight: an earlier assignment or a named result).
        statement = _statement_above(root, row, above)
        if statement is None:
            block = _block_at(node, functions[0])
            statement = _statement_before(block, row) if block is not None else None
        assigns = (
            statement is not None
            and statement.end_point.row == row - 1
            and _assigns_err(statement, data)
        )
        if not assigns and (
            len(typed) < len("if err") or not _err_in_sight(fn, functions[0], row, data)
        ):
            return None
    else:
        if_node = _if_above(root, row, len(above) - len(above.lstrip()))
        if if_node is not None:
            prev = if_node.prev_named_sibling
            statement = prev if prev is not None and _assigns_err(prev, data) else None
    wrap = _wrap_style(text) if fn.results else None
    declarations, body, message_prefix, message_suffix = _body_statements(
        fn, functions, scope, root, wrap
    )
    message = _message_for(statement, data) if message_prefix else ""

    current_indent = line_before[: len(line_before) - len(line_before.lstrip())]
    if in_block:
        block_indent = above[: len(above) - len(above.lstrip())]
    elif current_indent or statement is None:
        block_indent = current_indent
    else:  # an empty line without indentation: the block goes where the statement is
        first_line = lines[statement.start_point.row]
        block_indent = first_line[: len(first_line) - len(first_line.lstrip())]
    # The file's own indentation wins over the editor's setting (gofmt indents with tabs).
    unit = "\t" if "\t" in block_indent else indent.unit
    inner = block_indent + unit
    statements = [*declarations, *body]
    if message_prefix:
        statements.append(message_prefix + message + message_suffix)
    fn_line = lines[functions[0].start_point.row]
    fn_indent = fn_line[: len(fn_line) - len(fn_line.lstrip())]

    def moved(statement: str) -> str:
        """A type written over several lines in the signature, re-indented for the body."""
        first, *rest = statement.split("\n")
        return "\n".join(
            [
                first,
                *(
                    inner + (r[len(fn_indent) :] if r.startswith(fn_indent) else r.lstrip())
                    for r in rest
                ),
            ]
        )

    statements = [moved(statement) for statement in statements]

    def at_cursor(indentation: str, line: str) -> str:
        """`line` (meant at `indentation`) as typed from the cursor: the indentation the
        cursor line still lacks, or none when it has its own."""
        if typed:
            return line
        if indentation.startswith(current_indent):
            return indentation[len(current_indent) :] + line
        return line

    returns_error = any(_text(data, kind) == "error" for _name, kind in fn.results)
    receiver = None if returns_error else _testing_receiver(fn, data, scope.imports)
    testify = _testify(scope.imports)
    if receiver and testify and not typed and not in_block and _uses_require(text, testify):
        line = f"{testify}.NoError({receiver}, err)"
        return ErrCheck(at_cursor(block_indent, line), "noerror", line)

    if in_block:
        out_lines = [at_cursor(inner, statements[0])] + [inner + s for s in statements[1:]]
        if not _block_closed(lines, row, block_indent):
            out_lines.append(block_indent + "}")
        kind = "body"
    else:
        out_lines = [
            at_cursor(block_indent, IF_ERR)[len(typed) :],
            *(inner + s for s in statements),
            block_indent + "}",
        ]
        kind = "rest" if typed else "block"
    out = "\n".join(out_lines)
    returns = "\n".join(statements)
    if not message_prefix:
        return ErrCheck(out, kind, returns)
    last = message_prefix + message + message_suffix
    at = out.rindex(last) + len(message_prefix)
    return ErrCheck(
        out,
        kind,
        returns,
        message=message,
        message_prefix=out[:at],
        message_suffix=out[at + len(message) :],
    )


def clean_message(raw: str, suffix: str = "") -> str:
    """The error message in a model's continuation of `fmt.Errorf("`: up to the quote, without
    the verb and separator the block adds itself; "" when it is not a plain short message."""
    message = raw.split('"', 1)[0].split("\n", 1)[0]
    for verb in ("%w", "%v", "%s"):
        if message.endswith(verb):
            message = message[: -len(verb)]
    message = message.rstrip(" :")
    if suffix.startswith(('"', ")")):  # errors.Wrap: nothing to strip
        pass
    if not message or len(message) > 80 or re.search(r"[%\\`{}\x00-\x1f]", message):
        return ""
    if len(message) > 1 and message[0].isupper() and not message[1].isupper():
        message = message[0].lower() + message[1:]  # Go error strings are not capitalised
    return message


def _parse(data: bytes, key: str) -> Tree | None:
    return treesitter.parse_text("go", data, key + "\0goerr" if key else "")


_TEST_BODY = re.compile(r"if err != nil \{\n\s*(\w+)\.(\w+)\(([^\n]*)\)\s*\n")
_TEST_METHODS = frozenset({"Fatal", "Fatalf", "Error", "Errorf", "Skip", "Skipf", "FailNow"})


def _nearest_test_body(fn_node: Node, data: bytes, cursor: int) -> str | None:
    """The testing method (`Fatal`, `Errorf`...) of the error check nearest to the cursor in
    the same function (not in its function literals: a goroutine reports with Error)."""
    best: tuple[int, str] | None = None
    body = fn_node.child_by_field_name("body")
    stack = [body] if body is not None else []
    visited = 0
    while stack and visited < 20_000:  # bounded work in a huge function
        node = stack.pop()
        visited += 1
        if node.type == "func_literal":
            continue
        if node.type == "if_statement":
            condition = node.child_by_field_name("condition")
            consequence = node.child_by_field_name("consequence")
            if (
                condition is not None
                and consequence is not None
                and _text(data, condition).replace(" ", "") == "err!=nil"
            ):
                match = re.match(r"\{\s*\w+\.(\w+)\(", _text(data, consequence))
                if match and match.group(1) in _TEST_METHODS:
                    distance = abs(node.start_byte - cursor)
                    if best is None or distance < best[0]:
                        best = (distance, match.group(1))
        stack.extend(node.named_children)
    return None if best is None else best[1]


def _test_habit(text: str, receiver: str, nearby: str | None = None) -> str:
    """How this file's tests stop on an error: the family of the nearest check in the same
    test (Fatal or Error) if there is one, else the family the file uses most; in that family
    the file's most common statement when it repeats (`t.Fatalf("unexpected error: %v", err)`)
    with this test's receiver."""
    statements: Counter[str] = Counter()
    families: Counter[str] = Counter()
    for match in _TEST_BODY.finditer(text):
        _receiver, method, arguments = match.groups()
        if method not in _TEST_METHODS:
            continue
        statements[f"{method}({arguments})"] += 1
        families["Error" if method.startswith("Error") else "Fatal"] += 1
    if nearby is not None:
        family = "Error" if nearby.startswith("Error") else "Fatal"
    else:
        family = "Error" if families["Error"] > families["Fatal"] else "Fatal"
    in_family = Counter(
        {k: n for k, n in statements.items() if k.startswith(family) and "err" in k}
    )
    if in_family:
        common, count = in_family.most_common(1)[0]
        if count >= 2 and count * 5 >= families[family] * 2:
            return f"{receiver}.{common}"
    return f"{receiver}.{family}(err)"


def _uses_require(text: str, alias: str) -> bool:
    """Whether the file (importing testify) checks errors with it at least as often as with
    `if err != nil` blocks."""
    return text.count(f"{alias}.NoError(") >= len(_TEST_BODY.findall(text))


def _testify(imports: dict[str, str]) -> str | None:
    for alias, path in imports.items():
        if path == "github.com/stretchr/testify/require":
            return alias
    return None


_BLOCKS = frozenset(
    {
        *("block", "statement_list", "expression_case", "type_case"),
        *("default_case", "communication_case"),
    }
)


def _statement_above(root: Node, row: int, above: str) -> Node | None:
    """The statement that ends on the line above the cursor (in a block or a case clause)."""
    stripped = above.rstrip()
    if row <= 0 or not stripped:
        return None
    col = utf8.byte_len(stripped) - 1
    node: Node | None = root.descendant_for_point_range((row - 1, col), (row - 1, col))
    steps = 0
    while node is not None and steps < _MAX_DEPTH:
        parent = node.parent
        if parent is None or parent.type in _FUNCTIONS:
            return None
        if parent.type in _BLOCKS and node.type not in ("expression_list", "comment"):
            return node if node.end_point.row == row - 1 else None
        node = parent
        steps += 1
    return None


def _block_at(node: Node | None, fn: Node) -> Node | None:
    """The innermost block around the cursor, inside `fn`."""
    while node is not None and node != fn:
        if node.type in _BLOCKS:
            while (
                node.parent is not None
                and node.parent.type == "block"
                and node.type == "statement_list"
            ):
                node = node.parent
            return node
        node = node.parent
    return fn.child_by_field_name("body")


def _if_above(root: Node, row: int, column: int) -> Node | None:
    node = root.descendant_for_point_range((row - 1, column), (row - 1, column + 2))
    return next(
        (n for n in treesitter.ancestors(node, _MAX_DEPTH) if n.type == "if_statement"), None
    )


def _err_in_sight(fn: _Function, fn_node: Node, row: int, data: bytes) -> bool:
    """Whether `err` is declared above the cursor in the function, or is a named result."""
    if any(name == "err" for name, _ in fn.results):
        return True
    lines = data[fn_node.start_byte :].split(b"\n")
    first = fn_node.start_point.row
    for line in lines[: max(0, row - first)]:
        if re.search(rb"\berr\b\s*(?::=|=)|\berr\s+error\b|, err\b[^=]*:?=", line):
            return True
    return False


def _next_line(lines: list[str], row: int) -> str:
    """The first non-blank line after the cursor line (within 200 lines), or ""."""
    return next((line for line in lines[row + 1 : row + 200] if line.strip()), "")


def _block_has_body(lines: list[str], row: int, block_indent: str) -> bool:
    """Whether the block opened on the line above the cursor already has a statement below
    the cursor: a line indented deeper than the block, before its `}` (an unclosed block that
    swallows the rest of the function in the parse has none: the next line is not deeper)."""
    line = _next_line(lines, row)
    indentation = line[: len(line) - len(line.lstrip())]
    return (
        bool(line)
        and len(indentation) > len(block_indent)
        and indentation.startswith(block_indent)
        and not line.strip().startswith("}")
    )


def _block_closed(lines: list[str], row: int, block_indent: str) -> bool:
    """Whether a `}` at the block's indentation follows the cursor line (autopairs, or the
    user's own) before another statement at that indentation."""
    for line in lines[row + 1 : row + 200]:
        if not line.strip():
            continue
        indentation = line[: len(line) - len(line.lstrip())]
        if len(indentation) < len(block_indent):
            return False
        if indentation == block_indent:
            return line.strip().startswith("}")
    return False


# --------------------------------------------------------------------------------------------
# Checking a model's suggestion


def expected_returns(
    text: str,
    row: int,
    col: int,
    *,
    path: str = "",
    packages: GoPackages | None = None,
    key: str = "",
) -> tuple[list[str], int] | None:
    """The values an error path returns from the function at (row, col): the zero values with
    "err" in the error result's place, and that place; None without results, an error result
    or a type we would guess."""
    found = _at_cursor(text, row, col, path, packages, key)
    if found is None:
        return None
    _root, _node, _functions, fn, scope = found
    data = scope.data
    values: list[str] = []
    error_at = -1
    for i, (_name, kind) in enumerate(fn.results):
        if _text(data, kind) == "error":
            error_at = i
        zero = zero_value(kind, scope)
        if zero is None:
            return None  # a type parameter: `var zero T` is one way among several
        values.append(zero)
    if error_at < 0:
        return None
    values[error_at] = "err"
    return values, error_at


def _split_top(expressions: str) -> list[str]:
    """`a, f(b, c), "x,y"` -> ["a", "f(b, c)", '"x,y"']."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current = ""
    i = 0
    while i < len(expressions):
        ch = expressions[i]
        if quote:
            current += ch
            if ch == "\\" and quote != "`" and i + 1 < len(expressions):
                current += expressions[i + 1]
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
            current += ch
        elif ch in "([{":
            depth += 1
            current += ch
        elif ch in ")]}":
            depth -= 1
            current += ch
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current.strip())
    return parts


_RETURN = re.compile(r"^(\s*)return (.+?)\s*$")


def correct_returns(suggestion: str, values: list[str], error_at: int) -> str:
    """A model's suggestion with its error-path returns (`return ..., err` in the function at
    the cursor) giving our zero values: the model keeps its error expression (a wrap with a
    message), the other values are ours."""
    out: list[str] = []
    in_literal = False
    for line in suggestion.split("\n"):
        if "func(" in line:
            in_literal = True  # returns of a function literal answer to its own results
        match = None if in_literal else _RETURN.match(line)
        if match is not None:
            parts = _split_top(match.group(2))
            errors = [p for p in parts if re.search(r"\berr\b", p)]
            if errors and (len(parts) != len(values) or parts[error_at] in errors):
                fixed = list(values)
                fixed[error_at] = parts[error_at] if len(parts) == len(values) else errors[-1]
                line = f"{match.group(1)}return {', '.join(fixed)}"
        out.append(line)
    return "\n".join(out)
