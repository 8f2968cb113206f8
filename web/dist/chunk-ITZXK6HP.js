import{n as a,o as b}from"./chunk-ELIEIE6E.js";import"./chunk-KQSBZUMQ.js";import"./chunk-OOJM4CTU.js";export{b as openDoor,a as render};
