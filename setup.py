"""The package list and one build rule that pyproject.toml cannot express.

``configs/`` and ``benchmarks/`` are mapped into the package as
``dabench._configs`` and ``dabench._suites`` (``package-dir`` in
pyproject.toml). Discovery cannot see mapped folders, so they are listed here,
each sub-folder as its own data package; they ship their YAML and text files
only, never the helper scripts beside the suites.
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

DATA = {"dabench._configs": "configs", "dabench._suites": "benchmarks"}
PATTERNS = {"dabench._configs": ["*.yaml", "*.txt"], "dabench._suites": ["*.yaml"]}


def data_packages() -> dict[str, list[str]]:
    out = {pkg: PATTERNS[pkg] for pkg in DATA}
    for sub in Path(DATA["dabench._configs"]).rglob("*"):
        if sub.is_dir() and "__pycache__" not in sub.parts:
            out[".".join(("dabench._configs", *sub.relative_to("configs").parts))] = PATTERNS[
                "dabench._configs"
            ]
    return out


class BuildPy(build_py):
    def find_package_modules(self, package, package_dir):
        if package.startswith(tuple(DATA)):
            return []
        return super().find_package_modules(package, package_dir)


DATA_PACKAGES = data_packages()
setup(
    packages=find_packages(include=["dabench", "dabench.*"]) + sorted(DATA_PACKAGES),
    package_data={"dabench": ["py.typed"], **DATA_PACKAGES},
    cmdclass={"build_py": BuildPy},
)
