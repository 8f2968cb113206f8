import{a,b,c}from"./chunk-BJRMERDR.js";import"./chunk-LCQSMEXR.js";import"./chunk-73OQBQBC.js";import"./chunk-OOJM4CTU.js";export{b as openDoor,c as openSchedule,a as render};
