#!/bin/bash
# ratios.sh LIB (AB: the infoest-ab to run): each kind's median over forward KL's, KL timed next to each kind (infoest-ab, the library against itself)
LIB=$1
KINDS="entropy-shannon entropy-renyi:2 entropy-tsallis:2 reverse-kl jeffreys cross-entropy js tv hellinger bhattacharyya chi2 alpha:0.5 alpha:2 renyi:0.5 renyi:2 tsallis:0.5 tsallis:2 cauchy-schwarz"
LIST=kl
for k in $KINDS; do LIST="$LIST,$k,kl"; done
"${AB:-build/bench/infoest-ab}" "$LIB" "$LIB" "$LIST" 256 12 | tee "raw-$(basename "$LIB").txt" | awk '
  { name=$1; med=($6+$12)/2; if (name=="kl") { if (pend!="") { printf "%-18s %8.2f ms  %5.2fx KL\n", pend, pmed, pmed/((prev+med)/2); pend="" } prev=med; kls=kls" "med } else { pend=name; pmed=med } }
  END { print "kl medians:" kls }'
