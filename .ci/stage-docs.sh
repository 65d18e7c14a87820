#!/usr/bin/env bash
# CI stage: the API reference. Doxygen runs over the Doxyfile (the public
# headers, the README and the guides) into build-docs/; any warning fails:
# an undocumented public symbol, a parameter list half documented, a broken
# reference. Then the documents' marked code blocks are checked against the
# files they quote (tests/examples/doc_check.c, also run by `make test`).
# Debian packages: doxygen, gcc.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-docs
rm -rf "$out"
mkdir -p "$out"
log=$out/warnings.log
{ cat Doxyfile; echo "OUTPUT_DIRECTORY = $out"; echo "WARN_LOGFILE = $log"; } |
	doxygen -
if [ -s "$log" ]; then
	echo "Doxygen warnings:" >&2
	cat "$log" >&2
	exit 1
fi
test -f "$out/html/index.html"
echo "docs: API reference built without warnings ($out/html/index.html)"

# Doxygen passes a Markdown link it cannot resolve (a folder, a file it does
# not read) through as it is: every relative link must name a page it made.
dead=$(cd "$out/html" && grep -o 'href="[^"]*"' ./*.html |
	sed 's/^\([^:]*\):href="\([^"#?]*\).*/\1 \2/' |
	while read -r page target; do
		case "$target" in '' | *:*) continue ;; esac
		[ -e "$target" ] || echo "  $page: $target"
	done | sort -u)
if [ -n "$dead" ]; then
	echo "Dead links in the API reference:" >&2
	echo "$dead" >&2
	exit 1
fi

cc -std=c11 -O1 -Wall -Wextra -Werror -o "$out/doc_check" tests/examples/doc_check.c
for doc in README.md docs/typed.md docs/backends.md docs/aspace.md; do
	"$out/doc_check" "$doc" .
done
