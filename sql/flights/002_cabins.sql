-- Cabins and fares: a flight's cabins as given (the internal JSON of
-- flight_entry.h: [{"cabin", "first_row", "last_row", "price_cents"}], row
-- order, contiguous from row 1; the flights pool validates them). NULL: the
-- flight is one economy cabin over every seat at price_cents, so rows
-- written before cabins existed (and bodies without cabins) keep meaning
-- what they meant. price_cents stays the lowest cabin price, kept by the
-- writer.
ALTER TABLE flights ADD COLUMN cabins jsonb
    CHECK (cabins IS NULL OR (jsonb_typeof(cabins) = 'array'
                              AND jsonb_array_length(cabins) BETWEEN 1 AND 4));
