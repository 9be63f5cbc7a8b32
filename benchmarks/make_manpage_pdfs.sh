#!/usr/bin/env bash
# Real documents without a network: render this machine's man pages to PDF with groff.
#   benchmarks/make_manpage_pdfs.sh OUT_DIR [EVERY_NTH]
# Takes every EVERY_NTH (default 60) page of man1, man5 and man8 in sorted order (a fixed,
# reproducible selection on a given Debian image), plus the PDFs shipped under /usr/share/doc.
# Needs groff's PDF device (`apt-get install -y groff`; groff-base alone has no -Tpdf).
set -euo pipefail
out=${1:?usage: $0 OUT_DIR [EVERY_NTH]}
every=${2:-60}
mkdir -p "$out"
command -v groff >/dev/null && groff -Tpdf -man </dev/null >/dev/null 2>&1 \
  || { echo "error: groff with the PDF device is missing: apt-get install -y groff" >&2; exit 2; }
n=0
for section in 1 5 8; do
  for page in $(ls /usr/share/man/man$section/*.gz | LC_ALL=C sort | awk "NR % $every == 1"); do
    name=$(basename "$page" .gz)
    zcat "$page" | groff -man -Tpdf 2>/dev/null > "$out/man-$name.pdf" || rm -f "$out/man-$name.pdf"
    n=$((n + 1))
  done
done
find /usr/share/doc -name '*.pdf' -exec cp {} "$out/" \;
echo "rendered $n man pages to $out ($(ls "$out" | wc -l) PDFs in all)"
