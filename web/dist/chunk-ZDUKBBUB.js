import{a,b,c}from"./chunk-64IYEY56.js";import"./chunk-3DPRJFCV.js";import"./chunk-KQSBZUMQ.js";import"./chunk-OOJM4CTU.js";export{b as openDoor,c as openSchedule,a as render};
