#!/usr/bin/env python3
"""Checks the documentation against the programs and the sources (ctest label docs).
  options  README.md PROGRAM HEADING: every option PROGRAM --help prints has one row under HEADING, with
           the same default, and every row names an option --help prints (options whose help starts with
           "testing aid" are test hooks and need no row)
  exit-codes README.md error.hpp inspect_options.hpp: the codes of README's exit-code table are the Exit
           enum's and fmnist_inspect's own (its kInspect* constants: --compare's 1, internal failure 70)
  environment README.md ROOT: README's "Environment variables" names exactly the FMNIST_* that launch/ reads
  paths    ROOT: no file of the repository climbs out of it with ../ or names a folder beside it, and every
           relative Markdown link points at a file that exists"""
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
            # $FMNIST_X, ${FMNIST_X...}, or a name handed to a reader (`setting FMNIST_X 0 0`); not -DFMNIST_X
            read |= set(re.findall(r"(?<![\w-]D)(?<![\w])(FMNIST_[A-Z0-9_]+)", code))
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


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "options" and len(sys.argv) == 5:
        check_options(*sys.argv[2:])
    elif len(sys.argv) >= 2 and sys.argv[1] == "exit-codes" and len(sys.argv) == 5:
        check_exit_codes(*sys.argv[2:])
    elif len(sys.argv) >= 2 and sys.argv[1] == "environment" and len(sys.argv) == 4:
        check_environment(sys.argv[2], os.path.abspath(sys.argv[3]))
    elif len(sys.argv) >= 2 and sys.argv[1] == "paths" and len(sys.argv) == 3:
        check_paths(os.path.abspath(sys.argv[2]))
    else:
        fail("usage: check_docs.py options README PROGRAM HEADING | exit-codes README error.hpp inspect_options.hpp | "
             "environment README ROOT | paths ROOT")


if __name__ == "__main__":
    main()
