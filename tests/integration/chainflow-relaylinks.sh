#!/bin/bash
# chainflow.sh with links all the way (the user's side to relay1, relay1 to
# relay2, relay2 to relay3): bounded buffers behind stalled readers, clean
# ends, resets through every hop and a reload must hold there too.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
LINKS=1 RELAY_LINKS=1 exec bash "$top_srcdir/tests/integration/chainflow.sh"
