-- Sample flights for a local stack: real airports, realistic flight
-- numbers, airlines, durations, prices and seat counts, departing over the
-- next 30 days (relative to the day it is loaded). Idempotent: the same
-- flight number on the same UTC date is skipped (flights_number_date_key).
-- Long-haul flights carry cabins (first, business, premium economy,
-- economy, six seats a row: total_seats is rows x 6, price the economy
-- fare); short-haul ones are all economy at their price (cabins NULL).
INSERT INTO flights (flight_number, airline, origin, destination, departure_time, arrival_time,
                     price_cents, total_seats, cabins)
SELECT r.flight_number, r.airline, r.origin, r.destination,
       ((now() AT TIME ZONE 'UTC')::date + d + r.departs) AT TIME ZONE 'UTC',
       ((now() AT TIME ZONE 'UTC')::date + d + r.departs + r.duration) AT TIME ZONE 'UTC',
       (r.price * 100)::bigint, r.seats,
       (SELECT jsonb_agg(jsonb_build_object('cabin', p[1], 'first_row', p[2]::int,
                                            'last_row', p[3]::int,
                                            'price_cents', (p[4]::numeric * 100)::bigint)
                         ORDER BY p[2]::int)
        FROM regexp_split_to_table(r.cabins, ',') AS c,
             LATERAL regexp_match(c, '^(\w+):(\d+)-(\d+):([0-9.]+)$') AS p)
FROM (VALUES
    -- number, airline,              from,  to,    departs (UTC), duration,  price,   seats, first day, every n days,
    --     cabins ("cabin:first_row-last_row:price,...", front to back; NULL: all economy at price)
    ('AA100',  'American Airlines',  'JFK', 'LHR', time '22:00', interval '7 hours',             549.00, 300, 1, 10,
        'business:1-8:2899,premium_economy:9-12:1199,economy:13-50:549'),
    ('AA2',    'American Airlines',  'JFK', 'LAX', time '13:00', interval '6 hours 25 minutes',  329.00, 180, 1, 5,
        'business:1-3:1199,economy:4-30:329'),
    ('AA3',    'American Airlines',  'LAX', 'JFK', time '15:30', interval '5 hours 20 minutes',  319.00, 180, 2, 5,
        'business:1-3:1149,economy:4-30:319'),
    ('UA523',  'United Airlines',    'ORD', 'SFO', time '14:10', interval '4 hours 35 minutes',  249.00, 180, 3, 10,
        NULL),
    ('UA1',    'United Airlines',    'SFO', 'SIN', time '05:25', interval '16 hours 40 minutes', 1249.00, 300, 5, 10,
        'business:1-8:5899,premium_economy:9-12:2299,economy:13-50:1249'),
    ('DL401',  'Delta Air Lines',    'ATL', 'LAX', time '12:45', interval '4 hours 50 minutes',  289.00, 180, 2, 10,
        NULL),
    ('BA117',  'British Airways',    'LHR', 'JFK', time '08:20', interval '8 hours 10 minutes',  579.00, 300, 2, 10,
        'first:1-1:6999,business:2-8:3199,premium_economy:9-12:1299,economy:13-50:579'),
    ('AF1780', 'Air France',         'CDG', 'MAD', time '06:45', interval '2 hours 5 minutes',   129.00, 150, 1, 10,
        'business:1-3:349,economy:4-25:129'),
    ('LH400',  'Lufthansa',          'FRA', 'JFK', time '09:55', interval '8 hours 50 minutes',  689.00, 300, 4, 10,
        'first:1-1:7499,business:2-8:3499,premium_economy:9-12:1399,economy:13-50:689'),
    ('KL1001', 'KLM',                'AMS', 'LHR', time '06:40', interval '1 hour 15 minutes',   119.00, 150, 1, 10,
        NULL),
    ('IB3250', 'Iberia',             'MAD', 'FCO', time '10:05', interval '2 hours 30 minutes',  139.00, 180, 3, 10,
        NULL),
    ('VY8302', 'Vueling',            'BCN', 'AMS', time '16:20', interval '2 hours 20 minutes',   99.00, 180, 2, 10,
        NULL),
    ('AZ608',  'ITA Airways',        'FCO', 'JFK', time '08:40', interval '10 hours',            649.00, 222, 6, 10,
        'business:1-5:2599,premium_economy:6-9:1199,economy:10-37:649'),
    ('EK1',    'Emirates',           'DXB', 'LHR', time '03:30', interval '7 hours 40 minutes',  799.00, 300, 1, 10,
        'first:1-1:5999,business:2-8:2899,economy:9-50:799'),
    ('EK414',  'Emirates',           'DXB', 'SYD', time '05:15', interval '13 hours 55 minutes', 999.00, 300, 7, 10,
        'first:1-1:7999,business:2-8:3999,premium_economy:9-12:1699,economy:13-50:999'),
    ('SQ322',  'Singapore Airlines', 'SIN', 'LHR', time '15:05', interval '14 hours 20 minutes', 1099.00, 300, 3, 10,
        'first:1-1:8999,business:2-8:4599,premium_economy:9-12:1899,economy:13-50:1099'),
    ('NH110',  'ANA',                'HND', 'JFK', time '02:35', interval '12 hours 45 minutes', 1199.00, 222, 4, 10,
        'first:1-1:9999,business:2-6:4999,premium_economy:7-10:2099,economy:11-37:1199'),
    ('JL43',   'Japan Airlines',     'HND', 'LHR', time '03:10', interval '14 hours 30 minutes', 1150.00, 222, 8, 10,
        'business:1-6:4699,premium_economy:7-10:1999,economy:11-37:1150'),
    ('QF11',   'Qantas',             'SYD', 'LAX', time '01:20', interval '13 hours 40 minutes', 1399.00, 300, 5, 10,
        'first:1-1:9499,business:2-8:5199,premium_economy:9-12:2199,economy:13-50:1399'),
    ('AC856',  'Air Canada',         'YYZ', 'LHR', time '23:55', interval '6 hours 50 minutes',  599.00, 222, 2, 10,
        'business:1-6:2499,premium_economy:7-10:1099,economy:11-37:599')
) AS r(flight_number, airline, origin, destination, departs, duration, price, seats, first_day,
       every_days, cabins)
CROSS JOIN LATERAL generate_series(r.first_day, 30, r.every_days) AS d
ON CONFLICT DO NOTHING;
