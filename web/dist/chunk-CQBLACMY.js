import{a,b,c}from"./chunk-54BT34SR.js";import"./chunk-LJ43CRMZ.js";import"./chunk-XGTGNN6X.js";import"./chunk-OOJM4CTU.js";export{b as openDoor,c as openSchedule,a as render};
