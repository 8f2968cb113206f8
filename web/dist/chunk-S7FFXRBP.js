import{a,b,c}from"./chunk-O7ELJUYL.js";import"./chunk-3FRGRLHP.js";import"./chunk-UVWEN4EH.js";import"./chunk-OOJM4CTU.js";export{b as openDoor,c as openSchedule,a as render};
