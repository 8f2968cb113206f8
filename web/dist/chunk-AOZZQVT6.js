import{a,b}from"./chunk-55CKZT4D.js";import"./chunk-LJ43CRMZ.js";import"./chunk-XGTGNN6X.js";import"./chunk-OOJM4CTU.js";export{b as confirmDialog,a as render};
