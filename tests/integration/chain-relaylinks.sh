#!/bin/bash
# chain.sh with links all the way: the user's side reaches r1 over a link,
# and r1 and r2 extend to the next relay over links of their own (SPEC.md,
# "Extending over a link"): every check it makes must hold there too.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
LINKS=1 RELAY_LINKS=1 exec bash "$top_srcdir/tests/integration/chain.sh"
