#!/usr/bin/env python3
"""The unity build's guard (CMakeLists.txt): the files of one unit are compiled as one, so a name two
of them define in their anonymous namespaces (or as file statics) would be one redefinition, or worse,
one overload set that silently calls the other file's function. Lists every such name per unit and
exits 1 if there is one. Units, as CMakeLists.txt says: each src/<module>/ it does not take out of the
unity build, and src/nn's keras_json group (src/nn/kinds/ and the Keras JSON files it names).
Usage: unity_names.py SOURCE_DIR"""
import pathlib
import re
import sys

src = pathlib.Path(sys.argv[1]) / "src"
cmake = (src.parent / "CMakeLists.txt").read_text()


def local_names(path):
    """Names defined at the top level of the file's anonymous namespaces, and file-static names."""
    names, depth, anon_depth = set(), 0, None
    for line in path.read_text().split("\n"):
        stripped = line.strip()
        if anon_depth is None and re.match(r"^namespace \{", line):
            anon_depth = depth + 1
        elif line and not line[0].isspace() and not stripped.startswith(("//", "#", "}", "namespace", "template", "using", "static_assert")):
            inside = anon_depth is not None and depth == anon_depth
            if inside or line.startswith("static "):
                m = re.match(r"(?:struct|class|enum(?: class)?)\s+(\w+)", line)
                m = m or re.search(r"(\w+)\s*(?:\(|=[^=]|\{|\[|;)", line)
                if m:
                    names.add(m.group(1))
        depth += line.count("{") - line.count("}")
        if anon_depth is not None and depth < anon_depth:
            anon_depth = None
    return names


m = re.search(r"foreach\(file ([\w ]+)\)\s*\n\s*list\(APPEND nn_json", cmake)
if not m:
    sys.exit("unity_names: CMakeLists.txt's list of the keras_json group (foreach(file ...)) not found")
json_files = [src / "nn" / f"{f}.cpp" for f in m.group(1).split()]
units = {"nn keras_json": sorted((src / "nn" / "kinds").glob("*.cpp")) + json_files}
# The modules CMakeLists.txt takes out of the unity build (UNITY_BUILD OFF), and the one it builds by
# groups (UNITY_BUILD_MODE GROUP: its group is the unit above): the others are one unit each.
not_whole = set(re.findall(r"set_target_properties\(fmnist_(\w+) PROPERTIES UNITY_BUILD (?:OFF|ON UNITY_BUILD_MODE GROUP)\)", cmake))
if "nn" not in not_whole:
    sys.exit("unity_names: CMakeLists.txt no longer builds fmnist_nn by unity groups: update this script")
for module in sorted(p for p in src.iterdir() if p.is_dir() and p.name not in not_whole):
    units[module.name] = sorted(module.glob("*.cpp"))

clashes = 0
for unit, files in units.items():
    seen = {}
    for f in files:
        for name in local_names(f):
            seen.setdefault(name, []).append(f.relative_to(src.parent))
    for name, where in sorted(seen.items()):
        if len(where) > 1:
            clashes += 1
            print(f"unity unit {unit}: '{name}' is defined in {', '.join(map(str, where))}")
print(f"unity_names: {sum(len(f) for f in units.values())} files in {len(units)} units, {clashes} shared name(s)")
sys.exit(1 if clashes else 0)
