"""The API reference: pdoc's HTML from the docstrings of pycore's public modules.

``python docs/api.py OUTPUT_DIR`` writes it (``pip install -e '.[test]'`` brings pdoc);
tests/test_api_docs.py builds it the same way in CI.  The first-session guide is docs/guide.md.
"""
import importlib
import pkgutil
import sys
from pathlib import Path
from typing import Any, Dict, List

#: pdoc's module specifications: the package page without the internals pdoc would walk into
#: (dump containers, address translation, the CLI: a "!" pattern drops what was added so far), then
#: the scripting surface, the errors and pycore's own kernel helpers (pdoc walks the package).
PUBLIC_MODULES = ["pycore", r"!pycore\.", "pycore.object", "pycore.program", "pycore.symbol", "pycore.errors",
                  "pycore.kernel"]
#: Packages whose submodules are named one by one: pycore.helpers.linux's ``__all__`` lists drgn's
#: helper names, not its modules, and pdoc walks only the submodules a package's ``__all__`` names.
LISTED_PACKAGES = ["pycore.helpers.linux"]


def specifications() -> List[str]:
    """PUBLIC_MODULES, then each of LISTED_PACKAGES and its submodules."""
    specs = list(PUBLIC_MODULES)
    for name in LISTED_PACKAGES:
        package = importlib.import_module(name)
        specs.append(name)
        specs.extend(info.name for info in pkgutil.iter_modules(package.__path__, name + "."))
    return specs


def build(output_directory: Path) -> Dict[str, Any]:
    """Write the HTML reference of :func:`specifications` into ``output_directory`` and return
    pdoc's model of each module (``pdoc.doc.Module`` by name).  As ``pdoc.pdoc`` does, but the
    index lists every module: pdoc's own index of a single package only redirects to its page, and
    pycore's page lists none of its submodules (its ``__all__`` names the API, not the modules)."""
    from pdoc import doc, extract, render

    modules = {name: doc.Module.from_name(name) for name in extract.walk_specs(specifications())}
    for module in modules.values():
        page = output_directory / f"{module.fullname.replace('.', '/')}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(render.html_module(module, modules))
    index = render.env.get_template("index.html.jinja2").render(all_modules=modules, root_module_name=None)
    (output_directory / "index.html").write_text(index)
    (output_directory / "search.js").write_text(render.search_index(modules))
    return modules


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python docs/api.py OUTPUT_DIR")
    build(Path(sys.argv[1]))
