#!/bin/bash
# chain.sh with the user's side reaching r1 over a link (SPEC.md, "Links"):
# every check it makes must hold when circuits share one connection.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
LINKS=1 exec bash "$top_srcdir/tests/integration/chain.sh"
