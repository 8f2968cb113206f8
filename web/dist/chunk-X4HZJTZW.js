import{a as n,b as o}from"./chunk-KQSBZUMQ.js";import"./chunk-OOJM4CTU.js";async function t(r){o(r,n("h1",null,"codes"))}export{t as render};
