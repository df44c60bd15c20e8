#!/bin/bash
# usage: calib.sh MODEL trimOffset dctOffset dctMax
cd /work/main
MODEL=$1; T=$2; D=$3; M=$4
F=/tmp/plan-$T-$D-$M.json
npx tsx tmp-exp/plan.ts $MODEL | python3 -c "
import json,sys
p=json.load(sys.stdin)
for v in p['views']:
  if v.get('trim'): v['offsets']=[$T if o is not None else None for o in v['offsets']]
  if v.get('kind')=='dct':
    v['offsets']=[$D if o is not None else None for o in v['offsets']]; v['maxDistance']=$M
json.dump(p,open('$F','w'))"
node bin/loupe.mjs eval --model $MODEL --query-plan $F 2>/dev/null | tail -1 | python3 -c "
import json,sys
r=json.load(sys.stdin)['loupe']
print('$MODEL trim=$T dct=$D max=$M', 'overall', r['overall'], 'c50', r['crop-50'], 'c25', r['crop-25'], 'c10', r['crop-10'], 'rot10', r['rotate-10'], 'pad', r['pad'], 'text', r['text'], 'bright', r['brightness'])"
