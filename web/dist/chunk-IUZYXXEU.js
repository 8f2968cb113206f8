import{a as n,b as o}from"./chunk-KQSBZUMQ.js";import"./chunk-OOJM4CTU.js";async function e(r){o(r,n("h1",null,"history"))}export{e as render};
