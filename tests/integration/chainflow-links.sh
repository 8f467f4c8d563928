#!/bin/bash
# chainflow.sh with the user's side reaching r1 over a link (SPEC.md,
# "Links"): bounded buffers, clean ends and resets must hold there too.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
LINKS=1 exec bash "$top_srcdir/tests/integration/chainflow.sh"
