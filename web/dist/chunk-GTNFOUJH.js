import{a as n,b as e}from"./chunk-KQSBZUMQ.js";import"./chunk-OOJM4CTU.js";async function t(o){e(o,n("h1",null,"schedule"))}export{t as render};
