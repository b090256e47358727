#!/usr/bin/env python3
"""Checks the documentation against the programs and the sources (ctest label docs).
  options  README.md PROGRAM HEADING: every option PROGRAM --help prints has one row under HEADING, with
           the same default, and every row names an option --help prints (options whose help starts with
           "testing aid" are test hooks and need no row)
  exit-codes README.md error.hpp inspect_options.hpp: the codes of README's exit-code table are the Exit
           enum's and fmnist_inspect's own (its kInspect* constants: --compare's 1, internal failure 70)
  environment README.md ROOT: README's "Environment variables" names exactly the FMNIST_* that launch/ reads
  paths    ROOT: no file of the repository climbs out of it with ../ or names a folder beside it, and every
           relative Markdown link points at a file that exists
  messages TROUBLESHOOTING.md ROOT: every message a user can meet (the source's, check_messages below)
           appears in docs/troubleshooting.md
  figures  FILE.md...: every measured figure has a date (YYYY-MM-DD) and a processor nearby (check_figures)"""
import os
import re
import subprocess
import sys


def fail(message):
    print(f"check_docs: {message}", file=sys.stderr)
    sys.exit(1)


def section(readme, heading):
    """The lines under the Markdown heading `heading` (any level) up to the next heading."""
    lines, fenced = [], False
    for line in open(readme, encoding="utf-8").read().splitlines():  # code blocks blanked: '# x' is no heading
        fenced ^= line.startswith("```")
        lines.append("" if fenced or line.startswith("```") else line)
    for i, line in enumerate(lines):
        if re.fullmatch(r"#+ " + re.escape(heading), line.strip()):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("#")), len(lines))
            return lines[i + 1:end]
    fail(f"{readme}: no heading '{heading}'")


def table_rows(lines):
    """Cells of each body row of the Markdown tables in `lines` (header and separator rows left out)."""
    rows, header_seen = [], False
    for line in lines:
        if not line.startswith("|"):
            header_seen = False
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if not header_seen:
            header_seen = True
        elif not all(re.fullmatch(r":?-+:?", c) for c in cells):
            rows.append(cells)
    return rows


def help_options(text):
    """{option: default or ''} from cxxopts' --help: option lines are indented by at most 8 spaces,
    wrapped descriptions much further; test hooks ("testing aid") are left out."""
    options, name, words = {}, None, []

    def close():
        if name is None:
            return
        description = " ".join(" ".join(words).split())
        default = re.findall(r"\(default:\s*(.*?)\)\s*$", description)
        if not description.lower().startswith("testing aid"):
            options[name] = default[-1].strip() if default else ""

    for line in text.splitlines():
        m = re.match(r"^ {1,8}(?:-\w, )?--([a-z0-9][a-z0-9-]*)(?:\s+(?:arg|\[=arg\(=[^)]*\)\]))?(?:\s+(.*))?$", line)
        if m:
            close()
            name, words = m.group(1), [m.group(2) or ""]
        elif name is not None and line.startswith("       "):
            words.append(line.strip())
        else:
            close()
            name, words = None, []
    close()
    return options


def check_options(readme, program, heading):
    text = subprocess.run([program, "--help"], check=True, capture_output=True, text=True).stdout
    wanted = help_options(text)
    if len(wanted) < 3:
        fail(f"{program} --help: found only {sorted(wanted)}: has its format changed?")
    rows = {}
    for cells in table_rows(section(readme, heading)):
        names = re.findall(r"--([a-z0-9][a-z0-9-]*)", cells[0])
        if not names:
            fail(f"README '{heading}': row '{cells[0]}' names no --option")
        if names[0] in rows:
            fail(f"README '{heading}': --{names[0]} has two rows")
        rows[names[0]] = cells[1].replace("`", "").strip() if len(cells) > 1 else ""
    problems = []
    for name, default in sorted(wanted.items()):
        if name not in rows:
            problems.append(f"--{name} (default '{default}') is in {os.path.basename(program)} --help but has no row")
        elif rows[name] != default:
            problems.append(f"--{name}: README's default is '{rows[name]}', --help says '{default}'")
    problems += [f"--{name} has a row but is not in {os.path.basename(program)} --help" for name in rows
                 if name not in wanted and not name_is_test_hook(text, name)]
    if problems:
        fail(f"README '{heading}' against {program} --help:\n  " + "\n  ".join(problems))
    print(f"check_docs: {len(rows)} rows of '{heading}' match {os.path.basename(program)} --help")


def name_is_test_hook(text, name):
    return re.search(r"--" + re.escape(name) + r"\b[^\n]*testing aid", text, re.IGNORECASE) is not None


def check_exit_codes(readme, header, inspect_header):
    source = open(header, encoding="utf-8").read()
    enum = re.search(r"enum class Exit[^{]*\{(.*?)\};", source, re.S)
    if not enum:
        fail(f"{header}: no 'enum class Exit'")
    codes = {int(v) for v in re.findall(r"=\s*(\d+)\s*,?", enum.group(1))}
    inspect = re.findall(r"constexpr int kInspect\w+\s*=\s*(\d+)", open(inspect_header, encoding="utf-8").read())
    if len(inspect) < 2:
        fail(f"{inspect_header}: expected fmnist_inspect's kInspect* exit codes, found {inspect}")
    codes |= {int(v) for v in inspect}  # --compare's 1 and fmnist_inspect's internal failure
    rows = table_rows(section(readme, "Exit codes"))
    documented = [int(c[0]) for c in rows if c[0].isdigit()]
    if len(documented) != len(set(documented)):
        fail(f"README 'Exit codes': a code has two rows: {documented}")
    if set(documented) != codes:
        fail(f"README 'Exit codes' lists {sorted(documented)}, the sources have {sorted(codes)} "
             f"(missing: {sorted(codes - set(documented))}, not in the sources: {sorted(set(documented) - codes)})")
    if not any(c[0] == "other" for c in rows):
        fail("README 'Exit codes': no row 'other' for lost ranks and mpirun's codes")
    print(f"check_docs: README's exit codes {sorted(documented)} match {os.path.basename(header)}")


def check_environment(readme, root):
    """Every FMNIST_* variable a launch script reads has a row in README's "Environment variables"
    (a row may name several), and every variable there is read by some launch script."""
    read = set()
    launch = os.path.join(root, "launch")
    for name in os.listdir(launch):
        for line in open(os.path.join(launch, name), encoding="utf-8"):
            code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
            # $FMNIST_X, ${FMNIST_X...}, or a name handed to a reader (`setting FMNIST_X 0 0`); not a CMake
            # option: -DFMNIST_X, or FMNIST_X:BOOL as CMakeCache.txt holds it
            read |= set(re.findall(r"(?<![\w-]D)(?<![\w])(FMNIST_[A-Z0-9_]+)(?![A-Z0-9_]|:BOOL)", code))
    documented = set()
    for cells in table_rows(section(readme, "Environment variables")):
        documented |= set(re.findall(r"FMNIST_[A-Z0-9_]+", cells[0]))
    problems = [f"{v} is read by launch/ but has no row" for v in sorted(read - documented)]
    problems += [f"{v} has a row but no launch script reads it" for v in sorted(documented - read)]
    if problems:
        fail("README 'Environment variables' against launch/:\n  " + "\n  ".join(problems))
    print(f"check_docs: README's environment variables {sorted(documented)} match launch/")


def repository_files(root):
    listed = subprocess.run(["git", "-C", root, "ls-files", "-co", "--exclude-standard"], capture_output=True, text=True)
    if listed.returncode == 0 and listed.stdout.strip():
        return [f for f in listed.stdout.splitlines() if os.path.isfile(os.path.join(root, f))]
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith((".git", "build", "node_modules"))]
        found += [os.path.relpath(os.path.join(folder, f), root) for f in files]
    return found


def check_paths(root):
    outside = [re.compile(r"\.\./" + "shared"), re.compile("shared" + r"/peers"), re.compile(r"(?<![\w.])/" + "work/")]
    climb = re.compile(r"(?<![\w.~-])(\.\.(?:/\.\.)*)(?![\w.])")
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    problems = []
    for rel in repository_files(root):
        if rel.startswith(("build", "tests/fixtures/")) or "/node_modules/" in rel:
            continue
        try:
            text = open(os.path.join(root, rel), encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        depth = rel.count("/")
        for number, line in enumerate(text.splitlines(), 1):
            for pattern in outside:
                if pattern.search(line):
                    problems.append(f"{rel}:{number}: names a path outside the repository: {line.strip()[:100]}")
            for m in climb.finditer(line):
                if m.group(1).count("..") > depth:
                    problems.append(f"{rel}:{number}: '{m.group(1)}' climbs out of the repository: {line.strip()[:100]}")
            if rel.endswith(".md"):
                for target in link.findall(line):
                    if "://" in target or target.startswith("mailto:"):
                        continue
                    path = os.path.normpath(os.path.join(root, os.path.dirname(rel), target))
                    if not path.startswith(os.path.abspath(root)) or not os.path.exists(path):
                        problems.append(f"{rel}:{number}: link to '{target}', which is not a file of the repository")
    if problems:
        fail("paths outside the repository:\n  " + "\n  ".join(problems))
    print(f"check_docs: no file of {root} refers to a path outside it")


# ---- messages: every message a user can meet has its row in docs/troubleshooting.md ----------------
#
# A message is found where the source makes one: in C++ (src/, include/), a throw of Error or
# CollectiveError, usage_error(...), the helpers fail/fail_model/incompatible/problem/give_up/require, a
# Deadline's message, the watchdog's `prefix + "..."` and fprintf(stderr, ...); in launch/*.sh, an
# `echo ... >&2`, mpirun.sh's say and bench.sh's fail. Internal failures (Exit::internal, and helpers
# that throw only that) are bugs, documented by one row, and left out. A message's key is its longest
# literal piece between the values put into it (%s, $var, + value), trimmed; it must appear in
# docs/troubleshooting.md (whitespace collapsed, Markdown's \| read as |). Keys of fewer than two
# words say too little to look for and are skipped.
CPP_SITE = re.compile(r"throw\s+(?:Collective)?Error\s*\(|\busage_error\s*\(|\b(?:fail|fail_model|incompatible|give_up)"
                      r"\s*\(|(?<![.\w])require\s*\(|(?:\.|\b)problem\s*\(|\bDeadline\s+\w+\s*\(|\breturn\s+prefix\s*\+|"
                      r"fprintf\s*\(\s*stderr\s*,")
INTERNAL_HELPER = re.compile(r"(\w+)\s*=\s*\[[^\]]*\]\s*\([^)]*\)\s*\{\s*throw\s+Error\s*\(\s*Exit::internal|"
                             r"\bvoid\s+(\w+)\s*\([^)]*\)\s*(?:const\s*)?\{\s*throw\s+Error\s*\(\s*Exit::internal")
SHELL_SITE = re.compile(r"\becho\s+(.*?)\s*>&2|\b(?:say|fail)\s+(\".*\")")


def message_key(pieces):
    """The longest literal piece of a message (by words), trimmed of the punctuation around values."""
    best = ""
    for piece in pieces:
        for part in re.split(r"%[-+ #0-9.]*(?:ll|l|z|h)?[sdgfuczix]|\$\([^)]*\)|\$\{[^}]*\}|\$\w+|\$\*|\\n", piece):
            part = " ".join(part.replace('\\"', '"').split()).strip(" :;,.()'\"")
            if len(re.findall(r"[A-Za-z]{2,}", part)) > len(re.findall(r"[A-Za-z]{2,}", best)):
                best = part
    return best if len(re.findall(r"[A-Za-z]{2,}", best)) >= 2 else ""


def without_substitutions(words):
    """Shell words with every $(...) (nested, with its own quotes) replaced by a $x placeholder."""
    out, i = "", 0
    while i < len(words):
        if words.startswith("$(", i):
            depth, i = 1, i + 2
            while i < len(words) and depth:
                depth += {"(": 1, ")": -1}.get(words[i], 0)
                i += 1
            out += "$x"
        else:
            out += words[i]
            i += 1
    return out


def skip_literal(text, i):
    """The index just after the C++ string or character literal that starts at text[i]."""
    quote, i = text[i], i + 1
    while i < len(text) and text[i] != quote:
        i += 2 if text[i] == "\\" else 1
    return i + 1


def string_literals(code):
    """The C++ string literals of `code`, adjacent ones ("a" "b") joined, character literals skipped."""
    found, i, joinable = [], 0, False
    while i < len(code):
        if code[i] in "\"'":
            end = skip_literal(code, i)
            if code[i] == '"':
                if joinable:
                    found[-1] += code[i + 1:end - 1]
                else:
                    found.append(code[i + 1:end - 1])
                joinable = True
            else:
                joinable = False
            i = end
            continue
        joinable = joinable and code[i].isspace()
        i += 1
    return found


def call_body(text, start):
    """The text of the call or statement that starts at `start`, up to its closing parenthesis or ';'."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = skip_literal(text, i)
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        elif c == ";" and depth == 0:
            return text[start:i]
        i += 1
    return text[start:]


def source_messages(root):
    """[(file:line, key)] of every user-facing message of the C++ sources and launch/*.sh."""
    found = []
    for folder in ("src", "include"):
        for directory, _, files in os.walk(os.path.join(root, folder)):
            for name in sorted(files):
                if not name.endswith((".cpp", ".hpp")):
                    continue
                path = os.path.join(directory, name)
                text = re.sub(r"//[^\n]*", "", open(path, encoding="utf-8").read())
                internal = {a or b for a, b in INTERNAL_HELPER.findall(text)}
                for m in CPP_SITE.finditer(text):
                    body = call_body(text, m.start())
                    helper = re.match(r"(?:\.)?(\w+)", m.group(0)).group(1)
                    if "Exit::internal" in body or helper in internal or "injected failure" in body:
                        continue
                    key = message_key(string_literals(body))
                    if key:
                        found.append((f"{os.path.relpath(path, root)}:{text.count(chr(10), 0, m.start()) + 1}", key))
    launch = os.path.join(root, "launch")
    for name in sorted(os.listdir(launch)):
        path = os.path.join(launch, name)
        for number, line in enumerate(open(path, encoding="utf-8"), 1):
            if line.lstrip().startswith("#"):
                continue
            for m in SHELL_SITE.finditer(line):
                words = without_substitutions(m.group(1) or m.group(2)).replace('"', "")
                if words.rstrip().endswith("..."):
                    continue  # a progress line (bench.sh), not a message about a problem
                key = message_key([words])
                if key:
                    found.append((f"launch/{name}:{number}", key))
    return found


def check_messages(troubleshooting, root):
    doc = " ".join(open(troubleshooting, encoding="utf-8").read().replace("\\|", "|").split())
    messages = source_messages(root)
    if len(messages) < 50:
        fail(f"found only {len(messages)} messages in {root}: has the way messages are made changed?")
    missing = {}
    for where, key in messages:
        if key not in doc:
            missing.setdefault(key, []).append(where)
    if missing:
        lines = [f"{key!r}  ({', '.join(places)})" for key, places in sorted(missing.items(), key=lambda kv: kv[1][0])]
        fail(f"{len(missing)} of {len(set(k for _, k in messages))} messages have no row in {troubleshooting} "
             f"(give each a row: message, exit code, cause, what to do; the text quoted here must appear as it is):\n  "
             + "\n  ".join(lines))
    print(f"check_docs: all {len(set(k for _, k in messages))} messages of the sources are in {os.path.basename(troubleshooting)}")


# ---- figures: every measured figure says when and on what it was measured -----------------------
#
# A figure is a decimal number with a time unit ("2.59 s", "8.2 min", "0.14 ms", "2m46.8s"), a size
# in MB or GB, a rate in GFLOP/s or images/s, a speed-up ("1.94 times as fast"), a ratio to PyTorch
# ("0.29 of PyTorch", "ratio 0.31"), or an accuracy (0.ddd or 0.dddd on a line, or in a table whose
# header, mentions accuracy). Settings ("--stall-timeout 60", "120 s before the time limit") are
# whole numbers or sit in `code`, and are not figures. Each figure's block (its paragraph; a list
# with the paragraph that introduces it; a table or code block with the paragraphs right before and
# after it) must name a date
# (YYYY-MM-DD) and a processor (EPYC, Xeon, Core i5, Ryzen, ...).
FIGURE_DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")
FIGURE_CPU = re.compile(r"EPYC|Xeon|Core i[3579]|Ryzen|Graviton|Apple M\d|Ampere")
FIGURE = re.compile(r"(?<![\w.])\d+\.\d+\s?(?:ms|s|min|µs|h)\b|\b\d+m\d+(?:\.\d+)?s\b|"
                    r"(?<![\w.])\d+(?:\.\d+)?\s?(?:GFLOP/s|images/s|MB|GB)\b|\b\d+(?:\.\d+)?\s?(?:times|×) as\b|"
                    r"\b\d\.\d+ of PyTorch|\bratio (?:ours / PyTorch )?\d\.\d+")
ACCURACY = re.compile(r"(?<![\w.])0\.\d{3,4}(?!\d)")


def markdown_blocks(lines):
    """[(kind, [line indexes])]: paragraphs ("text"), "table", "code", "heading"; blank lines end a block."""
    blocks, kind, fenced = [], None, False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            if not fenced:
                blocks.append(("code", [i]))
            else:
                blocks[-1][1].append(i)
            fenced, kind = not fenced, None
            continue
        if fenced:
            blocks[-1][1].append(i)
            continue
        k = None if not line.strip() else "table" if line.startswith("|") else "heading" if line.startswith("#") else "text"
        if k is not None and k == kind:
            blocks[-1][1].append(i)
        elif k is not None:
            blocks.append((k, [i]))
        kind = k
    return blocks


def undated_figures(path):
    """[(line number, what is missing, line)] of the figures of one Markdown file without a date or processor."""
    lines = open(path, encoding="utf-8").read().splitlines()
    blocks = markdown_blocks(lines)
    problems = []
    for b, (kind, indexes) in enumerate(blocks):
        header = lines[indexes[0]] if kind == "table" else ""
        context = list(indexes)
        if kind == "text" and re.match(r"\s*(?:[-*+]|\d+\.) ", lines[indexes[0]]) and b > 0 and blocks[b - 1][0] == "text":
            context += blocks[b - 1][1]  # a list, with the paragraph that introduces it
        if kind in ("table", "code"):
            for n in (b - 1, b + 1):
                if 0 <= n < len(blocks) and blocks[n][0] == "text":
                    context += blocks[n][1]
        text = " ".join(lines[i] for i in context)
        missing = [name for name, rule in (("date", FIGURE_DATE), ("processor", FIGURE_CPU)) if not rule.search(text)]
        if not missing:
            continue
        for i in indexes:
            line = lines[i] if kind == "code" else re.sub(r"`[^`]*`", "", lines[i])
            accuracy = ACCURACY.search(line) and re.search(r"accura", line + header, re.I)
            if FIGURE.search(line) or accuracy:
                problems.append((i + 1, " and ".join(missing), lines[i].strip()[:100]))
    return problems


def check_figures(paths):
    problems = [f"{path}:{n}: no {what} near this figure: {line}" for path in paths for n, what, line in undated_figures(path)]
    if problems:
        fail(f"{len(problems)} figures without their date and machine (put the date YYYY-MM-DD and the processor, e.g. "
             "'2026-12-03, 2-core AMD EPYC with AVX-512', in the same paragraph, or in the one before or after "
             "a table or code block):\n  " + "\n  ".join(problems))
    print(f"check_docs: every figure of {len(paths)} files has its date and processor nearby")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "options" and len(sys.argv) == 5:
        check_options(*sys.argv[2:])
    elif len(sys.argv) >= 2 and sys.argv[1] == "exit-codes" and len(sys.argv) == 5:
        check_exit_codes(*sys.argv[2:])
    elif len(sys.argv) >= 2 and sys.argv[1] == "environment" and len(sys.argv) == 4:
        check_environment(sys.argv[2], os.path.abspath(sys.argv[3]))
    elif len(sys.argv) >= 2 and sys.argv[1] == "paths" and len(sys.argv) == 3:
        check_paths(os.path.abspath(sys.argv[2]))
    elif len(sys.argv) >= 2 and sys.argv[1] == "messages" and len(sys.argv) == 4:
        check_messages(sys.argv[2], os.path.abspath(sys.argv[3]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "figures":
        check_figures(sys.argv[2:])
    else:
        fail("usage: check_docs.py options README PROGRAM HEADING | exit-codes README error.hpp inspect_options.hpp | "
             "environment README ROOT | paths ROOT | messages TROUBLESHOOTING.md ROOT | figures FILE.md...")


if __name__ == "__main__":
    main()
