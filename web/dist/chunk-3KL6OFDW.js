import{a as n,b as r}from"./chunk-KQSBZUMQ.js";import"./chunk-OOJM4CTU.js";async function t(o){r(o,n("h1",null,"pairing"))}export{t as render};
