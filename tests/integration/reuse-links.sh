#!/bin/bash
# reuse.sh with the user's side reaching r1 over a link (SPEC.md, "Links"):
# circuits on a link are kept, isolated, let go and rebuilt as any.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
LINKS=1 exec bash "$top_srcdir/tests/integration/reuse.sh"
