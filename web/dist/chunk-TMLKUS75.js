import{a,b}from"./chunk-CJ25B4PA.js";import"./chunk-LCQSMEXR.js";import"./chunk-73OQBQBC.js";import"./chunk-OOJM4CTU.js";export{b as confirmDialog,a as render};
