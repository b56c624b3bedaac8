"""The named types of Go package folders (and of the module's other packages), their
imports, and the standard library's types by what they are.

Sibling files are parsed once per version (mtime, size)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tree_sitter import Node, Tree

from ...languages.go import package_name as go_package_name
from ...source_files import Reader, SourceFiles
from .evidence import Votes, zero_votes
from .syntax import _NIL_KINDS, _NIL_NAMES, _NUMBERS, _text

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
    "DB DBStats Tx Rows Row Stmt Conn NullString NullInt64 NullInt32 NullInt16 NullFloat64 "
    "NullBool NullTime NullByte",
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


@dataclass(frozen=True, slots=True)
class _TypeDecl:
    """`type Name <underlying>`: the underlying type's category and, for named or qualified
    ones, what it refers to."""

    category: str  # "nil" | "0" | '""' | "false" | "{}" | "ref" | "qref" | "unknown"
    ref: str = ""  # "ref": a type name of the same package; "qref": "alias.Name"
    alias: bool = False


@dataclass(slots=True)
class _FileTypes:
    package: str
    types: dict[str, _TypeDecl]
    imports: dict[str, str]
    votes: Votes  # how its code writes the zero values of the named types it returns


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


T = TypeVar("T")

_MAX_FILE_BYTES = 2_000_000  # a larger .go file (generated tables) is not read


class GoPackages:
    """The named types of Go package folders, each file parsed once per version.

    Files are read through `files` (a SourceFiles, shared with the other readers of sibling
    files; one of its own of `max_files` files by default), which never opens one that
    `exclude` (privacy.deny) names. Thread-safe."""

    def __init__(
        self,
        max_files: int = 512,
        exclude: Callable[[str], bool] | None = None,
        files: SourceFiles | None = None,
    ) -> None:
        self.files = files if files is not None else SourceFiles(max_files, exclude)
        self.parsed_files = 0
        self._lock = threading.Lock()
        self._modules: dict[str, _Module | None] = {}

    def folder_types(self, folder: str, package: str, exclude: str = "") -> dict[str, _TypeDecl]:
        """Name -> declaration for the package `package` in `folder`, `exclude` left out."""
        merged: dict[str, _TypeDecl] = {}
        for found in self.folder_facts(folder, exclude, self._read):
            if not package or found.package == package:
                for type_name, decl in found.types.items():
                    merged.setdefault(type_name, decl)
        return merged

    def folder_votes(self, folder: str, package: str, exclude: str) -> Votes:
        """The zero-value votes (evidence.zero_votes) of the package's files in `folder`."""
        total: Votes = Votes()
        for found in self.folder_facts(folder, exclude, self._read):
            if not package or found.package == package:
                total.update(found.votes)
        return total

    def folder_facts(self, folder: str, exclude: str, read: Reader[T]) -> list[T]:
        """What `read` makes of each .go file in `folder` (test files only for a test file
        `exclude`), `exclude` left out; each file read once per version."""
        tests = exclude.endswith("_test.go")
        excluded = os.path.abspath(exclude) if exclude else ""
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return []
        out: list[T] = []
        for entry in entries:
            name = entry.name
            if not name.endswith(".go") or name.startswith("."):
                continue
            if name.endswith("_test.go") and not tests:
                continue
            if excluded and os.path.abspath(entry.path) == excluded:
                continue
            found = self._file(entry, read)
            if found is not None:
                out.append(found)
        return out

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

    def _file(self, entry: os.DirEntry[str], read: Reader[T]) -> T | None:
        try:
            stat = entry.stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        return self.files.facts(entry.path, "go", read, max_bytes=_MAX_FILE_BYTES, version=version)

    def _read(self, lang: str, tree: Tree, data: bytes, path: str) -> _FileTypes:
        with self._lock:
            self.parsed_files += 1
        package, types, imports = _file_facts(tree.root_node, data)
        return _FileTypes(package, types, imports, zero_votes(tree.root_node, data, imports))


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
