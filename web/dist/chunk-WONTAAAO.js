import{a,b,c}from"./chunk-ZDIIKB4Z.js";import"./chunk-3FRGRLHP.js";import"./chunk-UVWEN4EH.js";import"./chunk-OOJM4CTU.js";export{b as openDoor,c as openSchedule,a as render};
