import{a,b,c}from"./chunk-AEFNHZT5.js";import"./chunk-LMBAYJX7.js";import"./chunk-WVXS4TPK.js";import"./chunk-OOJM4CTU.js";export{b as openDoor,c as openSchedule,a as render};
