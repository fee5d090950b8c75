"""Builds the Python module `roster` through the project's CMake build (pip runs this).

Only the target roster_python is built, with tests and benchmarks off; the module is the C++
client linked statically, so the wheel holds one extension file and nothing else. The CMake
build's own folder is build-python/cmake (setuptools' folders are under build-python too).
Environment: CMAKE_BUILD_PARALLEL_LEVEL (jobs), ROSTER_CMAKE_ARGS (more -D options).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def project_version():
    # One version for everything: project(roster VERSION x.y.z) in CMakeLists.txt.
    match = re.search(r"project\(roster VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    if not match:
        raise RuntimeError("no project(roster VERSION ...) in CMakeLists.txt")
    return match.group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = ROOT / "build-python" / "cmake"
        config = "Debug" if self.debug else "Release"
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir), f"-DCMAKE_BUILD_TYPE={config}",
            "-DROSTER_BUILD_TESTS=OFF", "-DROSTER_BUILD_BENCH=OFF", "-DROSTER_BUILD_PYTHON=ON",
            # The interpreter pip runs is the one the module is for.
            f"-DPython3_EXECUTABLE={sys.executable}",
        ] + shlex.split(os.environ.get("ROSTER_CMAKE_ARGS", ""))
        if shutil.which("ninja") and not (build_dir / "CMakeCache.txt").exists():
            configure += ["-G", "Ninja"]  # a reconfigure keeps the generator it has
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "roster_python", "--config", config],
                       check=True)
        built = list((build_dir / "bindings" / "python").glob("roster.*.so"))
        if len(built) != 1:
            raise RuntimeError(f"expected one built module in {build_dir}/bindings/python, found {built}")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)
        if not self.inplace:
            # The module's types, as cmake --install lays them out (cmake/RosterInstall.cmake):
            # roster.pyi next to it, and the stub-only package roster-stubs for mypy.
            stub = ROOT / "bindings" / "python" / "roster.pyi"
            shutil.copyfile(stub, target.parent / "roster.pyi")
            (target.parent / "roster-stubs").mkdir(exist_ok=True)
            shutil.copyfile(stub, target.parent / "roster-stubs" / "__init__.pyi")


(ROOT / "build-python").mkdir(exist_ok=True)
setup(
    version=project_version(),
    ext_modules=[Extension("roster", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    packages=[],  # the extension is everything: no auto-discovery of the source tree's folders
    py_modules=[],
    # setuptools' own build folder, apart from CMake's build/ (CMakePresets.json).
    options={"build": {"build_base": "build-python"}, "egg_info": {"egg_base": "build-python"}},
    zip_safe=False,
)
