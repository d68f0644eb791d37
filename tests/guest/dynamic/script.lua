-- Lua: tables, closures, string functions, coroutines, metatables, integer and float math.
local function counter()
  local n = 0
  return function() n = n + 1; return n end
end
local c = counter()
c(); c()
print("counter", c())

local words = {}
for w in string.gmatch("the quick brown fox jumps over the lazy dog", "%a+") do
  words[#words + 1] = w
end
table.sort(words)
print(table.concat(words, ","))

local freq = {}
for _, w in ipairs(words) do freq[w] = (freq[w] or 0) + 1 end
print("the", freq["the"], "fox", freq["fox"])

local gen = coroutine.wrap(function()
  for i = 1, 5 do coroutine.yield(i * i) end
end)
local squares = {}
for _ = 1, 5 do squares[#squares + 1] = gen() end
print("squares", table.concat(squares, " "))

local Vec = {}
Vec.__index = Vec
Vec.__add = function(a, b) return setmetatable({x = a.x + b.x, y = a.y + b.y}, Vec) end
Vec.__tostring = function(v) return string.format("(%d, %d)", v.x, v.y) end
local v = setmetatable({x = 1, y = 2}, Vec) + setmetatable({x = 10, y = 20}, Vec)
print("vec", tostring(v))

print(string.format("%.10f %d %s", math.pi, 2^53 // 1, math.type(3)))
print(string.rep("ab", 3, "-"), ("nutshell"):upper(), ("x=1, y=2"):gsub("%d", "N"))
local fib = {1, 1}
for i = 3, 50 do fib[i] = fib[i - 1] + fib[i - 2] end
print("fib50", fib[50])
print(pcall(error, "boom"))
