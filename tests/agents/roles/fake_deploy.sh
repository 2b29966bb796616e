#!/bin/sh
echo "-----> fake deploy of $1 at $2 by $3"
git archive --format=tar "$2" | tar -t
echo "fake deploy ok"
