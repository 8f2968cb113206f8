import{a,b,c}from"./chunk-5BBDIC67.js";import"./chunk-LCQSMEXR.js";import"./chunk-73OQBQBC.js";import"./chunk-OOJM4CTU.js";export{b as openDoor,c as openSchedule,a as render};
